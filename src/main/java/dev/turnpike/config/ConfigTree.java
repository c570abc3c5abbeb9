package dev.turnpike.config;

import java.lang.reflect.RecordComponent;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.regex.Pattern;

/**
 * A configuration as a tree of plain values: maps with the YAML's snake_case keys, lists, strings, longs, doubles,
 * booleans and null. It is what the admin API's {@code GET /config} prints as JSON and what {@link ConfigDiff}
 * compares, so a configuration read back from a running server's JSON compares equal to the one loaded here.
 *
 * <p>Built from the records by their components, so a key added to a record appears here without more code.
 * Source positions are left out (moving a block in the file changes nothing). Durations are written as in the file
 * ({@code 1m30s}), enums in lower case, a sealed variant (handler, path match, endpoint address) gets a {@code type}
 * ({@code "proxy"}), and a string longer than {@value #LONG_STRING} characters (an error page) is replaced by its
 * length and SHA-256, which still tells two versions apart.
 *
 * <p>Secrets: with {@code redact}, the value of a component whose name says it is a secret (token, password,
 * passphrase, secret, private key), of a header that carries credentials (Authorization, Cookie, API keys) and any
 * key material ({@code byte[]}, {@code char[]}, {@link java.security.Key}) becomes {@value #REDACTED}. Key material is
 * never written, redacted or not.
 */
public final class ConfigTree {
    public static final String REDACTED = "<redacted>";
    static final int LONG_STRING = 1024;

    private static final Pattern SECRET_NAME = Pattern.compile(".*(token|password|passphrase|secret|private_key).*");
    private static final Pattern SECRET_HEADER =
            Pattern.compile("(?i).*(authorization|cookie|token|secret|api[-_]?key|password).*");

    private final boolean redact;

    private ConfigTree(boolean redact) {
        this.redact = redact;
    }

    /** The whole configuration with secrets redacted: safe to show. */
    public static Map<String, Object> of(TurnpikeConfig config) {
        return of(config, true);
    }

    /** With {@code redact} false, secrets are kept (to compare them; never print such a tree). */
    @SuppressWarnings("unchecked")
    public static Map<String, Object> of(Object record, boolean redact) {
        return (Map<String, Object>) new ConfigTree(redact).value(record, "");
    }

    private Object value(Object v, String name) {
        if (v == null) {
            return null;
        }
        if (v instanceof byte[] || v instanceof char[] || v instanceof java.security.Key) {
            return REDACTED;
        }
        if (redact && SECRET_NAME.matcher(name).matches()) {
            return v instanceof Optional<?> o && o.isEmpty() ? null : REDACTED;
        }
        return switch (v) {
            case Optional<?> o -> o.isPresent() ? value(o.get(), name) : null;
            case String s -> string(s);
            case Boolean b -> b;
            case Integer i -> (long) i;
            case Long l -> l;
            case Short s -> (long) s;
            case Double d -> d;
            case Float f -> (double) f;
            case Duration d -> Durations.format(d);
            case Enum<?> e -> e.name().toLowerCase(Locale.ROOT);
            case Path p -> p.toString();
            case URI u -> u.toString();
            case Pattern p -> p.pattern();
            case CidrBlock c -> c.toString();
            case SourcePosition p -> null;
            case ErrorPages pages -> value(pages.pages(), name);
            case Set<?> set -> {
                List<Object> out = new ArrayList<>();
                for (Object o : set) {
                    out.add(value(o, name));
                }
                out.sort((a, b) -> String.valueOf(a).compareTo(String.valueOf(b)));
                yield out;
            }
            case Collection<?> c -> {
                List<Object> out = new ArrayList<>(c.size());
                for (Object o : c) {
                    out.add(value(o, name));
                }
                yield out;
            }
            case Map<?, ?> m -> {
                // Sorted: Map.copyOf in the records has no stable order, and diffs and JSON should not move.
                Map<String, Object> out = new TreeMap<>();
                boolean headers = name.endsWith("headers");
                m.forEach((k, val) -> out.put(String.valueOf(k),
                        redact && headers && SECRET_HEADER.matcher(String.valueOf(k)).matches() ? REDACTED
                                : value(val, String.valueOf(k))));
                yield new LinkedHashMap<>(out);
            }
            case Record r -> record(r);
            default -> v.toString();
        };
    }

    private Map<String, Object> record(Record r) {
        Map<String, Object> out = new LinkedHashMap<>();
        Class<?> type = r.getClass();
        for (Class<?> i : type.getInterfaces()) {
            if (i.isSealed() && i.getPermittedSubclasses().length > 1) {
                out.put("type", snake(type.getSimpleName()));
            }
        }
        for (RecordComponent c : type.getRecordComponents()) {
            if (c.getType() == SourcePosition.class) {
                continue;
            }
            Object v;
            try {
                v = c.getAccessor().invoke(r);
            } catch (ReflectiveOperationException e) {
                throw new IllegalStateException("cannot read " + type.getSimpleName() + "." + c.getName(), e);
            }
            String key = snake(c.getName());
            out.put(key, value(v, key));
        }
        return out;
    }

    private static Object string(String s) {
        if (s.length() <= LONG_STRING) {
            return s;
        }
        try {
            byte[] bytes = s.getBytes(StandardCharsets.UTF_8);
            String sha = HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes));
            return "<" + bytes.length + " bytes, sha256 " + sha + ">";
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    /** {@code maxConnectionsPerClient} → {@code max_connections_per_client}, as the YAML keys are written. */
    static String snake(String camel) {
        StringBuilder sb = new StringBuilder(camel.length() + 8);
        for (int i = 0; i < camel.length(); i++) {
            char c = camel.charAt(i);
            if (Character.isUpperCase(c)) {
                if (i > 0 && (Character.isLowerCase(camel.charAt(i - 1)) || Character.isDigit(camel.charAt(i - 1)))) {
                    sb.append('_');
                }
                sb.append(Character.toLowerCase(c));
            } else {
                sb.append(c);
            }
        }
        return sb.toString();
    }
}
