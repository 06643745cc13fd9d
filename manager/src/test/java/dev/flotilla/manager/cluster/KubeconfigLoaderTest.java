package dev.flotilla.manager.cluster;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.flotilla.cli.CliException;
import dev.flotilla.cli.ExitCode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.assertj.core.api.AbstractThrowableAssert;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class KubeconfigLoaderTest {

    @TempDir
    Path tmp;

    private static final String VALID = """
            apiVersion: v1
            kind: Config
            clusters:
            - name: a
              cluster:
                server: https://a.example:6443
            - name: b
              cluster:
                server: https://b.example:6443
            contexts:
            - name: ctx-a
              context: {cluster: a, user: u}
            - name: ctx-b
              context: {cluster: b, user: u}
            - name: ctx-missing
              context: {cluster: nowhere, user: u}
            current-context: ctx-a
            users:
            - name: u
              user: {token: t}
            """;

    private KubeconfigLoader loader(Map<String, String> env) {
        return new KubeconfigLoader(env, tmp.resolve("home"), tmp.resolve("sa"));
    }

    private Path write(String name, String content) throws IOException {
        Path p = tmp.resolve(name);
        Files.writeString(p, content);
        return p;
    }

    private AbstractThrowableAssert<?, ? extends Throwable> configError(Path file, String context) {
        return assertThatThrownBy(() -> loader(Map.of()).load(file, context))
                .isInstanceOf(CliException.class)
                .satisfies(e -> assertThat(((CliException) e).exitCode()).isEqualTo(ExitCode.CONFIG))
                .satisfies(e -> assertThat(e.getMessage()).doesNotContain("\n"));
    }

    @Test
    void loadsTheCurrentOrTheNamedContext() throws IOException {
        Path file = write("ok.yaml", VALID);
        KubeconfigLoader.Loaded current = loader(Map.of()).load(file, null);
        assertThat(current.config().getMasterUrl()).startsWith("https://a.example:6443");
        assertThat(current.source()).contains(file.toString()).contains("ctx-a");
        assertThat(loader(Map.of()).load(file, "ctx-b").config().getMasterUrl()).startsWith("https://b.example:6443");
    }

    @Test
    void namesTheProblemAndTheFile() throws IOException {
        configError(write("syntax.yaml", "clusters:\n- name: a\n  cluster: {server: x\n"), null)
                .hasMessageContaining("syntax.yaml").hasMessageMatching(".*not valid YAML \\(line \\d+, column \\d+\\).*");
        configError(write("empty.yaml", ""), null).hasMessageEndingWith("is empty");
        configError(write("scalar.yaml", "hello"), null).hasMessageContaining("not a kubeconfig").hasMessageContaining("a string");
        configError(write("types.yaml", "clusters: 3\n"), null).hasMessageContaining("not a valid kubeconfig");
        configError(tmp.resolve("absent.yaml"), null).hasMessageContaining("no such file");
        configError(tmp, null).hasMessageContaining("is a directory");
    }

    @Test
    void checksContextsAndClusters() throws IOException {
        Path file = write("ok.yaml", VALID);
        configError(file, "prod").hasMessageContaining("context 'prod' not found").hasMessageContaining("ctx-a, ctx-b, ctx-missing");
        configError(file, "ctx-missing").hasMessageContaining("cluster 'nowhere', which is not defined");
        configError(write("nocurrent.yaml", VALID.replace("current-context: ctx-a\n", "")), null)
                .hasMessageContaining("no current-context set");
        configError(write("dangling.yaml", VALID.replace("current-context: ctx-a", "current-context: gone")), null)
                .hasMessageContaining("current-context 'gone' is not among its contexts");
        configError(write("badserver.yaml", VALID.replace("https://a.example:6443", "a.example")), null)
                .hasMessageContaining("invalid server URL 'a.example'");
    }

    @Test
    void inClusterWhenThereIsNoKubeconfig() throws IOException {
        Path sa = Files.createDirectories(tmp.resolve("sa"));
        Files.writeString(sa.resolve("token"), "secret-token\n");
        Files.writeString(sa.resolve("namespace"), "flotilla-system");
        KubeconfigLoader.Loaded loaded = loader(Map.of("KUBERNETES_SERVICE_HOST", "10.0.0.1", "KUBERNETES_SERVICE_PORT", "443"))
                .load(null, null);
        assertThat(loaded.config().getMasterUrl()).startsWith("https://10.0.0.1:443");
        assertThat(loaded.config().getOauthTokenProvider().getToken()).isEqualTo("secret-token");
        assertThat(loaded.config().getNamespace()).isEqualTo("flotilla-system");
        assertThat(loaded.source()).contains("in-cluster");
    }

    @Test
    void saysWhatWasTriedWhenNothingIsFound() {
        assertThatThrownBy(() -> loader(Map.of()).load(null, null))
                .isInstanceOf(CliException.class)
                .hasMessageContaining("no kubeconfig").hasMessageContaining("$KUBECONFIG not set")
                .hasMessageContaining("not running in a cluster");
    }

    @Test
    void validatesFilesFromTheEnvironment() throws IOException {
        Path bad = write("env-bad.yaml", "{{{");
        assertThatThrownBy(() -> loader(Map.of("KUBECONFIG", bad.toString())).load(null, null))
                .isInstanceOf(CliException.class).hasMessageContaining("env-bad.yaml").hasMessageContaining("not valid YAML");
    }
}
