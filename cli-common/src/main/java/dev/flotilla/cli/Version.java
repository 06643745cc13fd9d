package dev.flotilla.cli;

import java.io.IOException;
import java.io.InputStream;
import java.util.Properties;
import picocli.CommandLine;

/** The build's version, from a resource Maven fills in at build time. */
public final class Version implements CommandLine.IVersionProvider {

    private static final String VERSION = load();

    /** The project version, for example {@code 0.1.0-SNAPSHOT}; {@code unknown} if the resource is missing. */
    public static String get() {
        return VERSION;
    }

    @Override
    public String[] getVersion() {
        return new String[] {"flotilla " + VERSION};
    }

    private static String load() {
        try (InputStream in = Version.class.getResourceAsStream("version.properties")) {
            if (in == null) {
                return "unknown";
            }
            Properties p = new Properties();
            p.load(in);
            String v = p.getProperty("version", "unknown");
            return v.startsWith("${") ? "unknown" : v;
        } catch (IOException e) {
            return "unknown";
        }
    }
}
