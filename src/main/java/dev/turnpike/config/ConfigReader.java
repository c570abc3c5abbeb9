package dev.turnpike.config;

import org.snakeyaml.engine.v2.api.LoadSettings;
import org.snakeyaml.engine.v2.api.lowlevel.Compose;
import org.snakeyaml.engine.v2.exceptions.Mark;
import org.snakeyaml.engine.v2.exceptions.MarkedYamlEngineException;
import org.snakeyaml.engine.v2.exceptions.ReaderException;
import org.snakeyaml.engine.v2.exceptions.YamlEngineException;
import org.snakeyaml.engine.v2.nodes.MappingNode;
import org.snakeyaml.engine.v2.nodes.Node;
import org.snakeyaml.engine.v2.nodes.NodeTuple;
import org.snakeyaml.engine.v2.nodes.ScalarNode;
import org.snakeyaml.engine.v2.nodes.SequenceNode;
import org.snakeyaml.engine.v2.nodes.Tag;
import org.snakeyaml.engine.v2.schema.CoreSchema;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Collections;
import java.util.Comparator;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.function.Function;
import java.util.regex.Pattern;

/**
 * Position-tracking, typed reads over a composed YAML node tree. Every read either returns a value or records a
 * {@link ConfigProblem} pointing at the node (and returns empty), so the loader can carry on and report everything.
 */
final class ConfigReader {

    private static final Pattern ENV_NAME = Pattern.compile("[A-Za-z_][A-Za-z0-9_]*");

    private final String source;
    private final List<ConfigProblem> problems = new ArrayList<>();
    /** Scalar values after ${ENV} expansion, for scalars that contained a reference. */
    private final Map<Node, String> expanded = new IdentityHashMap<>();
    private final Set<Node> failed = Collections.newSetFromMap(new IdentityHashMap<>());
    /** An empty value ({@code key:} and nothing) has no useful position of its own: problems point at its key. */
    private final Map<Node, Node> keysOfEmptyValues = new IdentityHashMap<>();

    ConfigReader(String source) {
        this.source = source;
    }

    // ------------------------------------------------------------------------------------------ problems

    SourcePosition pos(Node node) {
        if (node == null) {
            return new SourcePosition(source, 1, 1);
        }
        Node key = keysOfEmptyValues.get(node);
        if (key != null) {
            node = key;
        }
        return node.getStartMark().map(this::pos).orElse(new SourcePosition(source, 1, 1));
    }

    SourcePosition pos(Mark mark) {
        return new SourcePosition(source, mark.getLine() + 1, mark.getColumn() + 1);
    }

    void problem(Node node, String key, String message) {
        problem(pos(node), key, message);
    }

    void problem(SourcePosition position, String key, String message) {
        problems.add(new ConfigProblem(position, key.isEmpty() ? "(top level)" : key, message));
    }

    /** True for a scalar whose ${ENV} expansion already failed: reads return empty without a second problem. */
    boolean failed(Node node) {
        return failed.contains(node);
    }

    int problemCount() {
        return problems.size();
    }

    /** All problems, in file order (stable for problems at the same position). */
    List<ConfigProblem> problems() {
        List<ConfigProblem> sorted = new ArrayList<>(problems);
        sorted.sort(Comparator.comparingInt((ConfigProblem p) -> p.position().line())
                .thenComparingInt(p -> p.position().column()));
        return sorted;
    }

    static String join(String path, String key) {
        return path.isEmpty() ? key : path + "." + key;
    }

    static String index(String path, int i) {
        return path + "[" + i + "]";
    }

    // ------------------------------------------------------------------------------------------ parsing

    /** Composes one YAML document; syntax errors become problems. Empty when the text has no document or is broken. */
    Optional<Node> compose(String yaml) {
        LoadSettings settings = LoadSettings.builder()
                .setLabel(source)
                .setUseMarks(true)
                .setSchema(new CoreSchema())
                .setMaxAliasesForCollections(100)
                .build();
        try {
            return new Compose(settings).composeString(yaml);
        } catch (MarkedYamlEngineException e) {
            Optional<Mark> mark = e.getProblemMark().or(e::getContextMark);
            SourcePosition position = mark.map(this::pos).orElse(new SourcePosition(source, 1, 1));
            String problem = String.valueOf(e.getProblem());
            StringBuilder message = new StringBuilder("invalid YAML: ");
            if (problem.contains("end of stream") && e.getContextMark().isPresent() && e.getContext() != null) {
                position = pos(e.getContextMark().get());
                message.append("the file ended ").append(e.getContext())
                        .append(" that starts here; is a closing quote or bracket missing?");
            } else if (problem.contains("another document")) {
                message.append("only one document is allowed; remove the '---' line and what follows, or merge it");
            } else {
                message.append(e.getProblem() == null ? "syntax error" : problem);
                if (e.getContext() != null && e.getContextMark().isPresent() && e.getProblemMark().isPresent()) {
                    SourcePosition ctx = pos(e.getContextMark().get());
                    message.append(" (").append(e.getContext()).append(" at line ").append(ctx.line())
                            .append(", column ").append(ctx.column()).append(')');
                }
                String line = lineOf(yaml, position.line());
                if (UNQUOTED_PLACEHOLDER.matcher(line).find()) {
                    message.append("; a value that starts with '{' is read as a YAML mapping, so put it in quotes,"
                            + " e.g. \"{scheme}://example.com{uri}\"");
                } else if (problem.contains("<block end>") || problem.contains("mapping values are not allowed")) {
                    message.append("; check the indentation of this line and the one before");
                }
            }
            problem(position, "(syntax)", message.toString());
        } catch (ReaderException e) {
            problem(positionOfIndex(yaml, e.getPosition()), "(syntax)",
                    "invalid YAML: character U+" + String.format("%04X", e.getCodePoint()) + " is not allowed");
        } catch (YamlEngineException e) {
            problem(new SourcePosition(source, 1, 1), "(syntax)", "invalid YAML: " + e.getMessage());
        }
        return Optional.empty();
    }

    private static final Pattern UNQUOTED_PLACEHOLDER = Pattern.compile(":\\s+\\{[a-z_]+}\\S");

    private static String lineOf(String text, int line) {
        return text.lines().skip(Math.max(0, line - 1)).findFirst().orElse("");
    }

    private SourcePosition positionOfIndex(String text, int codePointIndex) {
        int line = 1;
        int column = 1;
        int cp = 0;
        for (int i = 0; i < text.length() && cp < codePointIndex; cp++) {
            int c = text.codePointAt(i);
            i += Character.charCount(c);
            if (c == '\n') {
                line++;
                column = 1;
            } else {
                column++;
            }
        }
        return new SourcePosition(source, line, column);
    }

    // ------------------------------------------------------------------------------------------ ${ENV}

    /** Expands {@code ${NAME}} and {@code ${NAME:-default}} in every scalar value (not in keys) of the tree. */
    void expandEnvironment(Node root, Map<String, String> env) {
        walk(root, "", env, Collections.newSetFromMap(new IdentityHashMap<>()));
    }

    private void walk(Node node, String path, Map<String, String> env, Set<Node> seen) {
        if (node == null || !seen.add(node)) {
            return;
        }
        switch (node) {
            case MappingNode m -> {
                for (NodeTuple t : m.getValue()) {
                    String key = t.getKeyNode() instanceof ScalarNode k ? k.getValue() : "?";
                    walk(t.getValueNode(), join(path, key), env, seen);
                }
            }
            case SequenceNode s -> {
                List<Node> items = s.getValue();
                for (int i = 0; i < items.size(); i++) {
                    walk(items.get(i), index(path, i), env, seen);
                }
            }
            case ScalarNode s -> {
                if (s.getValue().contains("${")) {
                    expanded.put(s, expand(s, s.getValue(), path, env));
                }
            }
            default -> { }
        }
    }

    private String expand(Node node, String text, String path, Map<String, String> env) {
        StringBuilder out = new StringBuilder(text.length());
        int i = 0;
        while (i < text.length()) {
            if (text.startsWith("$${", i)) {
                out.append("${");
                i += 3;
            } else if (text.startsWith("${", i)) {
                int end = text.indexOf('}', i + 2);
                if (end < 0) {
                    failed.add(node);
                    problem(node, path, "'${' is not closed with '}'; write ${NAME} or ${NAME:-default}"
                            + " (or $${ for a literal '${')");
                    return out.append(text, i, text.length()).toString();
                }
                String inner = text.substring(i + 2, end);
                int sep = inner.indexOf(":-");
                String name = sep < 0 ? inner : inner.substring(0, sep);
                if (!ENV_NAME.matcher(name).matches()) {
                    failed.add(node);
                    problem(node, path, "invalid environment variable reference '${" + inner
                            + "}'; write ${NAME} or ${NAME:-default} (or $${ for a literal '${')");
                } else {
                    String value = env.get(name);
                    if (sep >= 0 && (value == null || value.isEmpty())) {
                        value = inner.substring(sep + 2);
                    }
                    if (value == null) {
                        failed.add(node);
                        problem(node, path, "environment variable " + name + " is not set; set it, or give a default"
                                + " with ${" + name + ":-default}");
                    } else {
                        out.append(value);
                    }
                }
                i = end + 1;
            } else {
                out.append(text.charAt(i++));
            }
        }
        return out.toString();
    }

    // ------------------------------------------------------------------------------------------ typed reads

    static String describe(Node node) {
        return switch (node) {
            case null -> "nothing";
            case MappingNode m -> "a mapping";
            case SequenceNode s -> "a list";
            case ScalarNode s when Tag.NULL.equals(s.getTag()) -> "nothing";
            case ScalarNode s when Tag.BOOL.equals(s.getTag()) -> "the boolean " + s.getValue();
            case ScalarNode s when Tag.INT.equals(s.getTag()) || Tag.FLOAT.equals(s.getTag()) -> "the number " + s.getValue();
            case ScalarNode s -> "the string '" + s.getValue() + "'";
            default -> "an unsupported YAML node";
        };
    }

    static boolean isNull(Node node) {
        return node == null || (node instanceof ScalarNode s && Tag.NULL.equals(s.getTag()));
    }

    static boolean isScalar(Node node) {
        return node instanceof ScalarNode && !isNull(node);
    }

    /** The value of a scalar after ${ENV} expansion. */
    String text(ScalarNode node) {
        String e = expanded.get(node);
        return e != null ? e : node.getValue();
    }

    /** A mapping; a null value counts as an empty mapping. Null (after a problem) when it is something else. */
    Fields map(Node node, String path, List<String> allowed) {
        return map(node, path, allowed, Map.of());
    }

    /**
     * @param allowed keys accepted here, or null for free-form keys (header names, statuses)
     * @param hints   keys that are valid elsewhere → where they belong, for the unknown-key message
     */
    Fields map(Node node, String path, List<String> allowed, Map<String, String> hints) {
        if (isNull(node)) {
            return new Fields(node, path, new LinkedHashMap<>());
        }
        if (!(node instanceof MappingNode m)) {
            problem(node, path, "expected a mapping (key: value lines), got " + describe(node));
            return null;
        }
        LinkedHashMap<String, NodeTuple> entries = new LinkedHashMap<>();
        List<String> unknown = new ArrayList<>();
        for (NodeTuple t : m.getValue()) {
            Node k = t.getKeyNode();
            if (!isScalar(k)) {
                problem(k, path, "a key must be plain text, got " + describe(k));
                continue;
            }
            String key = ((ScalarNode) k).getValue();
            String keyPath = join(path, key);
            if (isNull(t.getValueNode()) && t.getValueNode() != null) {
                keysOfEmptyValues.putIfAbsent(t.getValueNode(), k);
            }
            NodeTuple first = entries.get(key);
            if (first != null) {
                problem(k, keyPath, "duplicate key; '" + key + "' is already set at line "
                        + pos(first.getKeyNode()).line());
                continue;
            }
            if (allowed != null && !allowed.contains(key)) {
                problem(k, keyPath, unknownKey(key, allowed, hints));
                unknown.add(key);
                continue;
            }
            entries.put(key, t);
        }
        Fields f = new Fields(node, path, entries);
        f.unknown.addAll(unknown);
        return f;
    }

    static String unknownKey(String key, List<String> allowed, Map<String, String> hints) {
        String expected = "expected one of: " + String.join(", ", allowed);
        String home = hints.get(key);
        if (home != null) {
            return "unknown key here; '" + key + "' belongs under '" + home + "'; " + expected;
        }
        return Suggestions.closest(key, allowed)
                .map(s -> "unknown key; did you mean '" + s + "'? " + expected)
                .orElse("unknown key; " + expected);
    }

    /** A list; a null value counts as empty. With {@code singleAllowed}, one scalar counts as a one-item list. */
    List<Node> list(Node node, String path, boolean singleAllowed, String what) {
        if (isNull(node)) {
            return List.of();
        }
        if (node instanceof SequenceNode s) {
            return s.getValue();
        }
        if (singleAllowed && node instanceof ScalarNode) {
            return List.of(node);
        }
        problem(node, path, "expected a list of " + what + ", got " + describe(node));
        return null;
    }

    Optional<String> string(Node node, String path) {
        return string(node, path, "a string");
    }

    /** Any scalar except a boolean or nothing; numbers are accepted as their text. */
    Optional<String> string(Node node, String path, String expected) {
        if (failed(node)) {
            return Optional.empty();
        }
        if (node instanceof ScalarNode s && !isNull(s)) {
            if (Tag.BOOL.equals(s.getTag())) {
                problem(node, path, "expected " + expected + ", got " + describe(node)
                        + "; put it in quotes if you mean the text \"" + s.getValue() + "\"");
                return Optional.empty();
            }
            return Optional.of(text(s));
        }
        problem(node, path, "expected " + expected + ", got " + describe(node) + quoteHint(node));
        return Optional.empty();
    }

    /**
     * True for {@code {path}} written without quotes: YAML reads it as a flow mapping whose keys have no values.
     */
    static boolean unquotedPlaceholder(Node node) {
        return node instanceof MappingNode m && m.getFlowStyle() == org.snakeyaml.engine.v2.common.FlowStyle.FLOW
                && !m.getValue().isEmpty()
                && m.getValue().stream().allMatch(t -> isNull(t.getValueNode()) && t.getKeyNode() instanceof ScalarNode);
    }

    static String quoteHint(Node node) {
        return unquotedPlaceholder(node)
                ? "; a value that starts with '{' is read as a YAML mapping, so put it in quotes, e.g. \"{path}\""
                : "";
    }

    Optional<Long> integer(Node node, String path, long min, long max) {
        if (failed(node)) {
            return Optional.empty();
        }
        if (!isScalar(node) || Tag.BOOL.equals(node.getTag())) {
            problem(node, path, "expected an integer" + range(min, max) + ", got " + describe(node));
            return Optional.empty();
        }
        String t = text((ScalarNode) node).strip();
        long v;
        try {
            v = Long.parseLong(t.startsWith("+") ? t.substring(1) : t);
        } catch (NumberFormatException e) {
            problem(node, path, "expected an integer" + range(min, max) + ", got '" + t + "'");
            return Optional.empty();
        }
        if (v < min || v > max) {
            problem(node, path, "must be" + range(min, max) + ", got " + v);
            return Optional.empty();
        }
        return Optional.of(v);
    }

    private static String range(long min, long max) {
        if (max == Long.MAX_VALUE || max == Integer.MAX_VALUE) {
            return min == Long.MIN_VALUE ? "" : " >= " + min;
        }
        return " between " + min + " and " + max;
    }

    Optional<Integer> int32(Node node, String path, int min, int max) {
        return integer(node, path, min, max).map(Long::intValue);
    }

    Optional<Boolean> bool(Node node, String path) {
        if (failed(node)) {
            return Optional.empty();
        }
        if (isScalar(node)) {
            String t = text((ScalarNode) node).strip().toLowerCase(Locale.ROOT);
            if (t.equals("true")) {
                return Optional.of(true);
            }
            if (t.equals("false")) {
                return Optional.of(false);
            }
        }
        problem(node, path, "expected true or false, got " + describe(node));
        return Optional.empty();
    }

    /** One of {@code options} (case-insensitive), returned lower case. */
    Optional<String> choice(Node node, String path, List<String> options) {
        if (failed(node)) {
            return Optional.empty();
        }
        if (!isScalar(node)) {
            problem(node, path, "expected one of: " + String.join(", ", options) + "; got " + describe(node));
            return Optional.empty();
        }
        String t = text((ScalarNode) node).strip().toLowerCase(Locale.ROOT);
        if (options.contains(t)) {
            return Optional.of(t);
        }
        String expected = "expected one of: " + String.join(", ", options);
        problem(node, path, Suggestions.closest(t, options)
                .map(s -> "unknown value '" + t + "'; did you mean '" + s + "'? " + expected)
                .orElse("unknown value '" + t + "'; " + expected));
        return Optional.empty();
    }

    Optional<Long> size(Node node, String path, long min, long max) {
        Optional<String> t = string(node, path, Sizes.EXPECTED);
        if (t.isEmpty()) {
            return Optional.empty();
        }
        long v;
        try {
            v = Sizes.parse(t.get());
        } catch (IllegalArgumentException e) {
            problem(node, path, e.getMessage());
            return Optional.empty();
        }
        if (v < min || v > max) {
            String range = max == Long.MAX_VALUE ? "at least " + Sizes.format(min)
                    : "between " + Sizes.format(min) + " and " + Sizes.format(max);
            problem(node, path, "must be " + range + ", got " + t.get().strip());
            return Optional.empty();
        }
        return Optional.of(v);
    }

    Optional<Duration> duration(Node node, String path) {
        return duration(node, path, false);
    }

    /** A duration; with {@code zeroAllowed}, {@code 0s} is accepted (for settings where zero means off). */
    Optional<Duration> duration(Node node, String path, boolean zeroAllowed) {
        Optional<String> t = string(node, path, Durations.EXPECTED);
        if (t.isEmpty()) {
            return Optional.empty();
        }
        try {
            Duration d = Durations.parse(t.get());
            if (d.isZero() && !zeroAllowed) {
                problem(node, path, "must be longer than 0, got " + t.get().strip());
                return Optional.empty();
            }
            return Optional.of(d);
        } catch (IllegalArgumentException e) {
            problem(node, path, e.getMessage());
            return Optional.empty();
        }
    }

    /** A whole percentage, written {@code 10%} or {@code 10}, between {@code min} and {@code max}. */
    Optional<Integer> percent(Node node, String path, int min, int max) {
        String expected = "a percentage between " + min + "% and " + max + "% such as " + Math.max(min, Math.min(10, max)) + "%";
        Optional<String> t = string(node, path, expected);
        if (t.isEmpty()) {
            return Optional.empty();
        }
        String s = t.get().strip();
        String number = s.endsWith("%") ? s.substring(0, s.length() - 1).strip() : s;
        if (!number.matches("[0-9]{1,9}")) {
            problem(node, path, "expected " + expected + ", got '" + s + "'");
            return Optional.empty();
        }
        int v = Integer.parseInt(number);
        if (v < min || v > max) {
            problem(node, path, "must be between " + min + "% and " + max + "%, got " + v + "%");
            return Optional.empty();
        }
        return Optional.of(v);
    }

    /** Applies {@code parse} to a string value; an IllegalArgumentException's message becomes the problem. */
    <T> Optional<T> parsed(Node node, String path, String expected, Function<String, T> parse) {
        Optional<String> t = string(node, path, expected);
        if (t.isEmpty()) {
            return Optional.empty();
        }
        try {
            return Optional.ofNullable(parse.apply(t.get()));
        } catch (IllegalArgumentException e) {
            problem(node, path, e.getMessage());
            return Optional.empty();
        }
    }

    // ------------------------------------------------------------------------------------------ mappings

    /** A checked mapping: unknown and duplicate keys were already reported. */
    final class Fields {
        final Node node;
        final String path;
        private final LinkedHashMap<String, NodeTuple> entries;
        /** Keys that were reported as unknown. */
        final List<String> unknown = new ArrayList<>();

        Fields(Node node, String path, LinkedHashMap<String, NodeTuple> entries) {
            this.node = node;
            this.path = path;
            this.entries = entries;
        }

        boolean has(String key) {
            return entries.containsKey(key);
        }

        Node value(String key) {
            NodeTuple t = entries.get(key);
            return t == null ? null : t.getValueNode();
        }

        Node keyNode(String key) {
            NodeTuple t = entries.get(key);
            return t == null ? null : t.getKeyNode();
        }

        String path(String key) {
            return join(path, key);
        }

        Collection<String> keys() {
            return entries.keySet();
        }

        /** Reads {@code key} with {@code read}; the default when absent or invalid (the problem is recorded). */
        <T> T get(String key, T dflt, Reader<T> read) {
            if (!has(key)) {
                return dflt;
            }
            return read.read(value(key), path(key)).orElse(dflt);
        }

        /** Reports a missing required key at this mapping and returns empty. */
        <T> Optional<T> required(String key, String what, Reader<T> read) {
            if (!has(key)) {
                problem(node, path(key), "missing; expected " + what);
                return Optional.empty();
            }
            return read.read(value(key), path(key));
        }
    }

    @FunctionalInterface
    interface Reader<T> {
        Optional<T> read(Node node, String path);
    }
}
