import java.io.IOException;
import java.io.OutputStream;
import java.lang.classfile.ClassFile;
import java.lang.classfile.ClassFileVersion;
import java.lang.classfile.ClassHierarchyResolver;
import java.lang.classfile.ClassTransform;
import java.lang.classfile.CodeTransform;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Enumeration;
import java.util.zip.ZipEntry;
import java.util.zip.ZipFile;
import java.util.zip.ZipOutputStream;

/**
 * Build step (pom.xml, after the shade plugin): rewrites the class files of target/turnpike.jar that were compiled
 * for Java 5 or older (class file version below 50; today only picocli's, which targets Java 5) as Java 8 class
 * files with stack map frames.
 *
 * <p>Why: the JDK's AOT cache (JEP 483, bin/turnpike) cannot hold classes older than version 50, and the JVM checks
 * them with the old, slow type-inferring verifier, then runs them in the interpreter without the training run's
 * profiles: parsing the command line cost some 120 ms of the 500 ms startup budget. The rewritten classes have the
 * same bytecode; only the version number and the stack maps (computed by the JDK's ClassFile API) are new. A class
 * that cannot be rewritten stays as it was (it works, just slower to load) and is reported.
 *
 * <p>Usage: {@code java UpgradeOldClassFiles.java JAR} (a JDK 24 or later: java.lang.classfile).
 */
public final class UpgradeOldClassFiles {
    /** Java 6, the first class file version with stack map frames, which the AOT cache requires. */
    private static final int FIRST_SUPPORTED = ClassFile.JAVA_6_VERSION;

    public static void main(String[] args) throws IOException {
        if (args.length != 1) {
            System.err.println("usage: java UpgradeOldClassFiles.java JAR");
            System.exit(2);
        }
        Path jar = Path.of(args[0]);
        Path tmp = jar.resolveSibling(jar.getFileName() + ".upgrading");
        int upgraded = 0;
        int kept = 0;
        try (ZipFile in = new ZipFile(jar.toFile());
             URLClassLoader classes = new URLClassLoader(new URL[] {jar.toUri().toURL()}, null);
             OutputStream file = Files.newOutputStream(tmp);
             ZipOutputStream out = new ZipOutputStream(file)) {
            // Stack maps need the class hierarchy: the JDK's own classes, then the jar's (picocli's superclasses).
            ClassFile cf = ClassFile.of(ClassFile.ClassHierarchyResolverOption.of(
                    ClassHierarchyResolver.defaultResolver().orElse(ClassHierarchyResolver.ofResourceParsing(classes))));
            for (Enumeration<? extends ZipEntry> entries = in.entries(); entries.hasMoreElements(); ) {
                ZipEntry entry = entries.nextElement();
                byte[] bytes = in.getInputStream(entry).readAllBytes();
                if (entry.getName().endsWith(".class") && majorVersion(bytes) < FIRST_SUPPORTED) {
                    try {
                        bytes = upgrade(cf, bytes);
                        upgraded++;
                    } catch (RuntimeException e) {
                        System.err.println("UpgradeOldClassFiles: kept " + entry.getName() + " as it was: " + e);
                        kept++;
                    }
                }
                ZipEntry copy = new ZipEntry(entry.getName());
                copy.setTime(entry.getTime());
                out.putNextEntry(copy);
                out.write(bytes);
                out.closeEntry();
            }
        } catch (IOException | RuntimeException e) {
            Files.deleteIfExists(tmp);
            throw e;
        }
        Files.move(tmp, jar, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        System.out.println("UpgradeOldClassFiles: " + upgraded + " class files of " + jar.getFileName()
                + " upgraded to Java 8" + (kept > 0 ? ", " + kept + " kept as they were" : ""));
    }

    private static int majorVersion(byte[] classFile) {
        return classFile.length < 8 ? Integer.MAX_VALUE : ((classFile[6] & 0xff) << 8) | (classFile[7] & 0xff);
    }

    /** The same class as a Java 8 class file: code rebuilt (which generates stack maps), version replaced. */
    private static byte[] upgrade(ClassFile cf, byte[] bytes) {
        ClassTransform newVersion = (builder, element) -> {
            if (element instanceof ClassFileVersion) {
                builder.withVersion(ClassFile.JAVA_8_VERSION, 0);
            } else {
                builder.with(element);
            }
        };
        byte[] upgraded = cf.transformClass(cf.parse(bytes),
                ClassTransform.transformingMethodBodies(CodeTransform.ACCEPT_ALL).andThen(newVersion));
        // Fail here, not when the JVM loads the class: the result must pass the split verifier.
        var problems = cf.verify(upgraded);
        if (!problems.isEmpty()) {
            throw new IllegalStateException("does not verify: " + problems.getFirst().getMessage());
        }
        return upgraded;
    }
}
