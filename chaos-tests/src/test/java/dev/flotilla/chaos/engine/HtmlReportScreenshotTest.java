package dev.flotilla.chaos.engine;

import static org.assertj.core.api.Assertions.assertThat;

import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;

/**
 * The HTML report as a browser draws it: headless Chromium (Debian's {@code chromium}, which ./test.sh installs)
 * renders a report and takes a screenshot, kept as {@code target/chaos-report/html-report-screenshot.png} (not
 * committed), and the screenshot must show the fault shading, an unowned range and the lines in colour. Without
 * Chromium the test fails with that reason.
 */
class HtmlReportScreenshotTest {

    static Path chromium() {
        for (String name : List.of("chromium", "chromium-browser")) {
            for (String dir : System.getenv().getOrDefault("PATH", "/usr/bin").split(":")) {
                Path p = Path.of(dir, name);
                if (Files.isExecutable(p)) {
                    return p;
                }
            }
        }
        throw new AssertionError("headless Chromium is needed to check the HTML report: install Debian's chromium "
                + "package (./test.sh does: scripts/debian-tool.sh chromium chromium)");
    }

    @Test
    void chromiumDrawsTheChartsWithTheFaultShadedAndTheUnownedRangeInRed() throws Exception {
        Path dir = Files.createDirectories(Path.of("target/chaos-report"));
        Path html = dir.resolve("html-report-sample.html").toAbsolutePath();
        Files.writeString(html, HtmlReport.render(Duration.ofSeconds(8),
                List.of(HtmlReportTest.sample("partition", List.of()))));
        Path png = dir.resolve("html-report-screenshot.png").toAbsolutePath();
        Files.deleteIfExists(png);
        Path profile = Files.createTempDirectory("chromium-profile");
        Process p = new ProcessBuilder(chromium().toString(), "--headless", "--no-sandbox", "--disable-gpu",
                "--hide-scrollbars", "--user-data-dir=" + profile, "--window-size=1000,900", "--screenshot=" + png,
                html.toUri().toString()).redirectErrorStream(true).redirectOutput(dir.resolve("chromium.log").toFile()).start();
        try {
            assertThat(p.waitFor(90, TimeUnit.SECONDS)).as("chromium finished within 90 s").isTrue();
        } finally {
            p.destroyForcibly();
            deleteTree(profile);
        }
        assertThat(png).as("the screenshot (chromium's output: %s)", dir.resolve("chromium.log")).exists();
        BufferedImage image = ImageIO.read(png.toFile());
        assertThat(image.getWidth()).isEqualTo(1000);
        int shade = 0xFFFFFF & Integer.parseInt(HtmlReport.FAULT_SHADE.substring(1), 16);
        int unowned = 0xFFFFFF & Integer.parseInt(HtmlReport.UNOWNED.substring(1), 16);
        int shaded = 0;
        int red = 0;
        Set<Integer> colours = new HashSet<>();
        for (int y = 0; y < image.getHeight(); y++) {
            for (int x = 0; x < image.getWidth(); x++) {
                int rgb = image.getRGB(x, y) & 0xFFFFFF;
                colours.add(rgb);
                if (rgb == shade) {
                    shaded++;
                } else if (rgb == unowned) {
                    red++;
                }
            }
        }
        // The fault band is 293 x 130 px on each of two charts in view; the unowned bar 58 x 12 px.
        assertThat(shaded).as("pixels of the fault shading").isGreaterThan(20_000);
        assertThat(red).as("pixels of the unowned range").isGreaterThan(300);
        assertThat(colours.size()).as("colours on the page").isGreaterThan(20);
    }

    private static void deleteTree(Path root) throws IOException {
        try (var walk = Files.walk(root)) {
            walk.sorted(java.util.Comparator.reverseOrder()).forEach(f -> f.toFile().delete());
        }
    }
}
