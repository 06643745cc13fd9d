package dev.flotilla.chaos;

import static org.assertj.core.api.Assertions.assertThat;

import io.fabric8.kubernetes.client.utils.KubernetesSerialization;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The CI chaos pipeline ({@code .github/workflows/chaos.yml}): actionlint (built from the Go module proxy by
 * {@code scripts/actionlint.sh}) passes on the repository's workflows and fails on a broken one, every shell step
 * parses as bash, and every shell step runs dry here: as GitHub runs it ({@code bash -e -o pipefail}, in the
 * repository), with what needs Docker, the network or minutes of build recorded instead of done ({@code sudo},
 * {@code apt-get}, {@code ./mvnw}, {@code ./flotilla}, the repository's scripts), and what was recorded checked against
 * the repository: the Debian packages exist, the Maven modules and test classes exist, every chaos document the
 * pipeline passes to {@code flotilla chaos run} is read by it, each report directory is the one published.
 */
class ChaosPipelineTest {

    static Path home;
    static Path actionlint;

    @BeforeAll
    static void build() throws Exception {
        home = ChaosDocumentsTest.home();
        Run built = run(home, List.of("bash", "scripts/actionlint.sh"), 600);
        assertThat(built.code()).as("scripts/actionlint.sh: %s", built.output()).isZero();
        actionlint = Path.of(built.output().strip().lines().reduce((a, b) -> b).orElseThrow());
    }

    record Run(int code, String output) {
    }

    static Run run(Path dir, List<String> command, int seconds) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(command).directory(dir.toFile()).redirectErrorStream(true).start();
        byte[] out = p.getInputStream().readAllBytes();
        assertThat(p.waitFor(seconds, TimeUnit.SECONDS)).as("%s finished", command).isTrue();
        return new Run(p.exitValue(), new String(out, StandardCharsets.UTF_8));
    }

    @Test
    void actionlintPassesOnTheWorkflows() throws Exception {
        Run lint = run(home, List.of(actionlint.toString(), "-no-color"), 120);
        assertThat(lint.code()).as("actionlint: %s", lint.output()).isZero();
        assertThat(home.resolve(".github/workflows/chaos.yml")).exists();
    }

    @Test
    void aBrokenWorkflowFailsActionlintWithTheReason(@TempDir Path dir) throws Exception {
        String workflow = Files.readString(home.resolve(".github/workflows/chaos.yml"))
                .replace("runs-on: ubuntu-24.04", "runs-on: ubuntu-24.04\n    timeout-minutes: soon")
                .replace("${{ github.ref }}", "${{ github.no_such_context }}");
        Path file = Files.createDirectories(dir.resolve(".github/workflows")).resolve("chaos.yml");
        Files.writeString(file, workflow);
        Run lint = run(dir, List.of(actionlint.toString(), "-no-color", file.toString()), 120);
        assertThat(lint.code()).as("actionlint on a broken workflow: %s", lint.output()).isNotZero();
        assertThat(lint.output()).contains("no_such_context").contains("timeout-minutes");
    }

    @Test
    @SuppressWarnings("unchecked")
    void everyShellStepParsesAsBash(@TempDir Path dir) throws Exception {
        Map<String, Object> workflow = new KubernetesSerialization()
                .unmarshal(Files.readString(home.resolve(".github/workflows/chaos.yml")), Map.class);
        List<String> checked = new ArrayList<>();
        for (var job : ((Map<String, Object>) workflow.get("jobs")).entrySet()) {
            for (Object step : (List<Object>) ((Map<String, Object>) job.getValue()).get("steps")) {
                Object script = ((Map<String, Object>) step).get("run");
                if (script == null) {
                    continue;
                }
                Path file = dir.resolve("step-" + checked.size() + ".sh");
                Files.writeString(file, (String) script);
                Run syntax = run(dir, List.of("bash", "-n", file.toString()), 30);
                assertThat(syntax.code()).as("%s: %s", job.getKey(), syntax.output()).isZero();
                checked.add(job.getKey() + ": " + ((Map<String, Object>) step).get("name"));
            }
        }
        assertThat(checked).hasSizeGreaterThanOrEqualTo(5);
    }

    /** Stand-ins that record their arguments (one line per call, arguments separated by tabs) in $DRY_LOG. */
    private static final Map<String, String> STUBS = Map.of(
            "sudo", """
                    #!/usr/bin/env bash
                    while [[ "${1:-}" == -* ]]; do shift; done
                    exec "$@"
                    """,
            "apt-get", recorder("apt-get"),
            "mvnw-dry", recorder("mvnw"),
            "flotilla-dry", recorder("flotilla"),
            "script-dry", recorder("script"));

    private static String recorder(String name) {
        return "#!/usr/bin/env bash\n(IFS=$'\\t'; echo \"" + name + "\t$*\") >> \"$DRY_LOG\"\n";
    }

    @Test
    @SuppressWarnings("unchecked")
    void everyShellStepRunsDryAndWhatItWouldRunExists(@TempDir Path dir) throws Exception {
        Path bin = Files.createDirectories(dir.resolve("bin"));
        for (var stub : STUBS.entrySet()) {
            Path file = bin.resolve(stub.getKey());
            Files.writeString(file, stub.getValue());
            assertThat(file.toFile().setExecutable(true)).isTrue();
        }
        Map<String, Object> workflow = new KubernetesSerialization()
                .unmarshal(Files.readString(home.resolve(".github/workflows/chaos.yml")), Map.class);
        int steps = 0;
        for (var job : ((Map<String, Object>) workflow.get("jobs")).entrySet()) {
            List<Map<String, Object>> jobSteps = (List<Map<String, Object>>) ((Map<String, Object>) job.getValue()).get("steps");
            List<String> published = jobSteps.stream().filter(st -> String.valueOf(st.get("uses")).startsWith("actions/upload-artifact"))
                    .map(st -> ((String) ((Map<String, Object>) st.get("with")).get("path")).replaceFirst("/$", "")).toList();
            for (Map<String, Object> step : jobSteps) {
                String script = (String) step.get("run");
                if (script == null) {
                    continue;
                }
                String where = job.getKey() + " / " + step.get("name");
                // What GitHub would run, with the costly parts recorded instead.
                String dry = script.replace("./mvnw ", "mvnw-dry ").replace("./flotilla ", "flotilla-dry ")
                        .replaceAll("\\bbash (scripts/|testing/|deploy/)", "script-dry $1");
                Path log = dir.resolve("calls-" + steps++ + ".log");
                Files.writeString(log, "");
                ProcessBuilder pb = new ProcessBuilder("bash", "-e", "-o", "pipefail", "-c", dry).directory(home.toFile())
                        .redirectErrorStream(true);
                pb.environment().put("PATH", bin + ":" + System.getenv("PATH"));
                pb.environment().put("DRY_LOG", log.toString());
                Process p = pb.start();
                String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
                assertThat(p.waitFor(60, TimeUnit.SECONDS)).as(where).isTrue();
                assertThat(p.exitValue()).as("%s ran dry: %s", where, out).isZero();
                for (String call : Files.readAllLines(log)) {
                    List<String> args = List.of(call.split("\t"));
                    checkCall(where, args.getFirst(), args.subList(1, args.size()), published);
                }
            }
        }
        assertThat(steps).isGreaterThanOrEqualTo(6);
    }

    /** What one recorded call would have done, checked against the repository and this machine. */
    private static void checkCall(String where, String tool, List<String> args, List<String> published) throws Exception {
        switch (tool) {
            case "apt-get" -> {
                if (args.getFirst().equals("install")) {
                    for (String pkg : args.stream().skip(1).filter(a -> !a.startsWith("-")).toList()) {
                        Run known = run(home, List.of("apt-cache", "show", pkg), 60);
                        assertThat(known.code()).as("%s: Debian package %s: %s", where, pkg, known.output()).isZero();
                    }
                }
            }
            case "mvnw" -> {
                for (int i = 0; i < args.size(); i++) {
                    if (args.get(i).equals("-pl")) {
                        for (String module : args.get(i + 1).split(",")) {
                            assertThat(home.resolve(module).resolve("pom.xml")).as("%s: module %s", where, module).exists();
                        }
                    }
                    if (args.get(i).startsWith("-Dit.test=")) {
                        String test = args.get(i).substring("-Dit.test=".length());
                        try (var files = Files.walk(home, 8)) {
                            assertThat(files.filter(f -> f.endsWith(test + ".java") && f.toString().contains("/src/test/")))
                                    .as("%s: test class %s", where, test).isNotEmpty();
                        }
                    }
                }
            }
            case "flotilla" -> {
                assertThat(home.resolve("flotilla")).as("%s: ./flotilla", where).isExecutable();
                assertThat(args.subList(0, 2)).as(where).containsExactly("chaos", "run");
                int reportDir = args.indexOf("--report-dir");
                assertThat(reportDir).as("%s: --report-dir", where).isPositive();
                assertThat(published).as("%s: the report directory is published", where).contains(args.get(reportDir + 1));
                List<String> files = args.subList(2, reportDir);
                assertThat(files).as("%s: documents", where).hasSizeGreaterThanOrEqualTo(ChaosDocumentsTest.shipped().size());
                for (String f : files) {
                    // What flotilla chaos run does first: every document read before anything starts.
                    dev.flotilla.chaos.experiment.ChaosDocuments.readPlan(home.resolve(f));
                }
            }
            case "script" -> assertThat(home.resolve(args.getFirst())).as("%s: script", where).isRegularFile();
            default -> throw new AssertionError(where + ": unexpected call " + tool);
        }
    }

    @Test
    @SuppressWarnings("unchecked")
    void theK3sJobRunsTheK3sSuiteAndPublishesItsReports() throws Exception {
        Map<String, Object> workflow = new KubernetesSerialization()
                .unmarshal(Files.readString(home.resolve(".github/workflows/chaos.yml")), Map.class);
        Map<String, Object> k3s = (Map<String, Object>) ((Map<String, Object>) workflow.get("jobs")).get("k3s");
        List<Map<String, Object>> steps = (List<Map<String, Object>>) k3s.get("steps");
        assertThat(steps).extracting(s -> String.valueOf(s.get("run")))
                .anyMatch(r -> r.contains("-Dit.test=K3sChaosIT") && r.contains("-D" + K3sChaosIT.ENABLED + "=true"));
        assertThat(steps).filteredOn(s -> String.valueOf(s.get("uses")).startsWith("actions/upload-artifact"))
                .extracting(s -> ((Map<String, Object>) s.get("with")).get("path"))
                .containsExactly("chaos-tests/" + K3sChaosIT.REPORT_DIR + "/");
    }
}
