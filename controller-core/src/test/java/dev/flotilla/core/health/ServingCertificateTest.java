package dev.flotilla.core.health;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Base64;
import java.util.List;
import org.bouncycastle.openssl.jcajce.JcaPEMWriter;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ServingCertificateTest {

    @TempDir
    Path dir;

    @Test
    void aSelfSignedCertificateNamesItsHostsAndMakesATlsContext() throws Exception {
        ServingCertificate c = ServingCertificate.selfSigned(List.of("x".repeat(70) + ".svc", "localhost"));
        assertThat(c.chain().getFirst().getSubjectX500Principal().getName()).isEqualTo("CN=localhost");
        assertThat(c.chain().getFirst().getSubjectAlternativeNames()).extracting(n -> (Object) n.get(1))
                .containsExactly("x".repeat(70) + ".svc", "localhost");
        assertThat(c.sslContext().getProtocol()).isEqualTo("TLS");
    }

    /**
     * What a kubernetes.io/tls Secret may hold: PKCS#8, and the "traditional" SEC1 (EC) and PKCS#1 (RSA) keys as
     * openssl and cert-manager write them.
     */
    @Test
    void keysInEveryCommonPemFormReadBack() throws Exception {
        ServingCertificate ec = ServingCertificate.selfSigned(List.of("localhost"));
        Files.writeString(dir.resolve("tls.crt"), pem(ec.chain().getFirst()));
        Files.writeString(dir.resolve("tls.key"), "-----BEGIN PRIVATE KEY-----\n"
                + Base64.getMimeEncoder().encodeToString(ec.key().getEncoded()) + "\n-----END PRIVATE KEY-----\n");
        assertThat(ServingCertificate.fromDirectory(dir).key().getEncoded()).isEqualTo(ec.key().getEncoded());
        Assumptions.assumeTrue(Files.isExecutable(Path.of("/usr/bin/openssl")), "openssl writes the traditional forms");
        Path key = dir.resolve("tls.key");
        Path crt = dir.resolve("tls.crt");
        // SEC1 with the curve's parameters block first, as `openssl ecparam -genkey` without -noout writes it.
        openssl("ecparam", "-name", "prime256v1", "-genkey", "-out", key.toString());
        assertThat(Files.readString(key)).startsWith("-----BEGIN EC PARAMETERS-----").contains("-----BEGIN EC PRIVATE KEY-----");
        openssl("req", "-x509", "-key", key.toString(), "-subj", "/CN=localhost", "-days", "1", "-out", crt.toString());
        assertThat(ServingCertificate.fromDirectory(dir).key().getAlgorithm()).isEqualTo("EC");
        openssl("genrsa", "-traditional", "-out", key.toString(), "2048");
        assertThat(Files.readString(key)).startsWith("-----BEGIN RSA PRIVATE KEY-----");
        // Not yet the certificate's key: refused now rather than failing every handshake later.
        assertThatThrownBy(() -> ServingCertificate.fromDirectory(dir)).hasMessageContaining("is not the key of the certificate");
        openssl("req", "-x509", "-key", key.toString(), "-subj", "/CN=localhost", "-days", "1", "-out", crt.toString());
        assertThat(ServingCertificate.fromDirectory(dir).key().getAlgorithm()).isEqualTo("RSA");
        assertThat(ServingCertificate.fromDirectory(dir).sslContext().getProtocol()).isEqualTo("TLS");
    }

    private static void openssl(String... args) throws Exception {
        List<String> command = new java.util.ArrayList<>(List.of("/usr/bin/openssl"));
        command.addAll(List.of(args));
        Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes());
        assertThat(p.waitFor()).as("openssl %s: %s", String.join(" ", args), out).isZero();
    }

    @Test
    void aMissingOrWrongFileIsNamed() throws Exception {
        assertThatThrownBy(() -> ServingCertificate.fromDirectory(dir)).hasMessageContaining("tls.crt does not exist");
        Files.writeString(dir.resolve("tls.crt"), "not a certificate\n");
        assertThatThrownBy(() -> ServingCertificate.fromDirectory(dir)).hasMessageContaining("tls.crt holds no CERTIFICATE");
        Files.writeString(dir.resolve("tls.crt"), pem(ServingCertificate.selfSigned(List.of("a")).chain().getFirst()));
        assertThatThrownBy(() -> ServingCertificate.fromDirectory(dir)).hasMessageContaining("tls.key does not exist");
        Files.writeString(dir.resolve("tls.key"), Files.readString(dir.resolve("tls.crt")));
        assertThatThrownBy(() -> ServingCertificate.fromDirectory(dir)).hasMessageContaining("holds no unencrypted private key");
    }

    private static String pem(Object o) throws Exception {
        StringWriter out = new StringWriter();
        try (JcaPEMWriter w = new JcaPEMWriter(out)) {
            w.writeObject(o);
        }
        return out.toString();
    }
}
