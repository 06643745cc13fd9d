package dev.flotilla.core.health;

import java.io.IOException;
import java.io.Reader;
import java.math.BigInteger;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.KeyStore;
import java.security.PrivateKey;
import java.security.SecureRandom;
import java.security.Signature;
import java.security.cert.X509Certificate;
import java.security.spec.ECGenParameterSpec;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Date;
import java.util.List;
import java.util.Objects;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.cert.X509CertificateHolder;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.openssl.PEMKeyPair;
import org.bouncycastle.openssl.PEMParser;
import org.bouncycastle.openssl.jcajce.JcaPEMKeyConverter;
import org.bouncycastle.asn1.pkcs.PrivateKeyInfo;
import org.bouncycastle.operator.OperatorCreationException;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;

/**
 * The certificate the metrics endpoint serves: read from a directory holding {@code tls.crt} and {@code tls.key} (a
 * mounted {@code kubernetes.io/tls} Secret; PEM, the key PKCS#8 or PKCS#1/SEC1), or generated at start, self-signed,
 * when there is none (a scraper then skips verification, as controller-runtime's self-signed default requires).
 * Read once at start: after the Secret is rotated, restart the replicas (a rolling restart hands shards over).
 *
 * <pre>{@code
 * ServingCertificate generated = ServingCertificate.selfSigned(List.of("flotilla-metrics.flotilla-system.svc"));
 * SSLContext tls = generated.sslContext();
 * }</pre>
 *
 * @param chain the certificate first, then its issuers
 * @param key   its private key
 */
public record ServingCertificate(List<X509Certificate> chain, PrivateKey key) {

    /** The file names of a {@code kubernetes.io/tls} Secret. */
    public static final String CERT_FILE = "tls.crt";
    public static final String KEY_FILE = "tls.key";
    /** How long a generated certificate is valid. */
    public static final Duration SELF_SIGNED_VALIDITY = Duration.ofDays(365);

    public ServingCertificate {
        chain = List.copyOf(chain);
        Objects.requireNonNull(key, "key");
        if (chain.isEmpty()) {
            throw new IllegalArgumentException("a serving certificate needs at least one certificate");
        }
    }

    /**
     * Reads {@code dir}/tls.crt and {@code dir}/tls.key.
     *
     * @throws IllegalArgumentException naming the file and what is wrong with it
     */
    public static ServingCertificate fromDirectory(Path dir) {
        Path certFile = dir.resolve(CERT_FILE);
        Path keyFile = dir.resolve(KEY_FILE);
        List<X509Certificate> chain = new ArrayList<>();
        JcaX509CertificateConverter certs = new JcaX509CertificateConverter();
        try (Reader in = Files.newBufferedReader(certFile); PEMParser pem = new PEMParser(in)) {
            for (Object o = pem.readObject(); o != null; o = pem.readObject()) {
                if (o instanceof X509CertificateHolder h) {
                    chain.add(certs.getCertificate(h));
                }
            }
        } catch (NoSuchFileException e) {
            throw new IllegalArgumentException("metrics certificate " + certFile + " does not exist", e);
        } catch (IOException | GeneralSecurityException e) {
            throw new IllegalArgumentException("metrics certificate " + certFile + " is not a PEM certificate: " + e.getMessage(), e);
        }
        if (chain.isEmpty()) {
            throw new IllegalArgumentException("metrics certificate " + certFile + " holds no CERTIFICATE block");
        }
        PrivateKey key;
        try (Reader in = Files.newBufferedReader(keyFile); PEMParser pem = new PEMParser(in)) {
            JcaPEMKeyConverter keys = new JcaPEMKeyConverter();
            key = null;
            String found = "";
            // Other blocks may come first (openssl ecparam -genkey writes EC PARAMETERS before the key).
            for (Object o = pem.readObject(); o != null && key == null; o = pem.readObject()) {
                if (o instanceof PEMKeyPair pair) { // PKCS#1 (RSA) or SEC1 (EC): the pair converts, its key info alone may not
                    key = keys.getKeyPair(pair).getPrivate();
                } else if (o instanceof PrivateKeyInfo info) {
                    key = keys.getPrivateKey(info);
                } else {
                    found = " (found " + o.getClass().getSimpleName() + ")";
                }
            }
            if (key == null) {
                throw new IllegalArgumentException("metrics key " + keyFile + " holds no unencrypted private key" + found);
            }
        } catch (NoSuchFileException e) {
            throw new IllegalArgumentException("metrics key " + keyFile + " does not exist", e);
        } catch (IOException e) {
            throw new IllegalArgumentException("metrics key " + keyFile + " is not a PEM private key: " + e.getMessage(), e);
        }
        requireMatch(chain.getFirst(), key, certFile, keyFile);
        return new ServingCertificate(chain, key);
    }

    /** A key that is not the certificate's would fail every handshake later, silently: refuse it now. */
    private static void requireMatch(X509Certificate cert, PrivateKey key, Path certFile, Path keyFile) {
        byte[] nonce = new byte[32];
        new SecureRandom().nextBytes(nonce);
        String algorithm = switch (key.getAlgorithm()) {
            case "EC" -> "SHA256withECDSA";
            case "RSA" -> "SHA256withRSA";
            case "Ed25519", "EdDSA" -> "Ed25519";
            default -> throw new IllegalArgumentException("metrics key " + keyFile + " is a " + key.getAlgorithm()
                    + " key; use an EC, RSA or Ed25519 key");
        };
        try {
            Signature sign = Signature.getInstance(algorithm);
            sign.initSign(key);
            sign.update(nonce);
            byte[] signature = sign.sign();
            Signature verify = Signature.getInstance(algorithm);
            verify.initVerify(cert.getPublicKey());
            verify.update(nonce);
            if (verify.verify(signature)) {
                return;
            }
        } catch (GeneralSecurityException e) {
            // a key of another algorithm than the certificate's: not a match either
        }
        throw new IllegalArgumentException("metrics key " + keyFile + " is not the key of the certificate in " + certFile);
    }

    /** A new EC P-256 key and a certificate for {@code dnsNames} signed by itself, valid from now for a year. */
    public static ServingCertificate selfSigned(List<String> dnsNames) {
        if (dnsNames.isEmpty()) {
            throw new IllegalArgumentException("a self-signed certificate needs at least one DNS name");
        }
        try {
            KeyPairGenerator generator = KeyPairGenerator.getInstance("EC");
            generator.initialize(new ECGenParameterSpec("secp256r1"));
            KeyPair pair = generator.generateKeyPair();
            // The names live in the SAN; the CN only names the certificate, and RFC 5280 caps it at 64 characters.
            String cn = dnsNames.stream().filter(n -> n.length() <= 64).findFirst().orElse("flotilla");
            X500Name subject = new X500Name("CN=" + cn.replaceAll("[,=+<>#;\"\\\\]", "_"));
            Instant now = Instant.now();
            JcaX509v3CertificateBuilder builder = new JcaX509v3CertificateBuilder(subject, new BigInteger(63, new SecureRandom()),
                    Date.from(now.minus(Duration.ofMinutes(5))), Date.from(now.plus(SELF_SIGNED_VALIDITY)), subject,
                    pair.getPublic());
            builder.addExtension(Extension.subjectAlternativeName, false,
                    new GeneralNames(dnsNames.stream().map(n -> new GeneralName(GeneralName.dNSName, n)).toArray(GeneralName[]::new)));
            X509Certificate cert = new JcaX509CertificateConverter().getCertificate(
                    builder.build(new JcaContentSignerBuilder("SHA256withECDSA").build(pair.getPrivate())));
            return new ServingCertificate(List.of(cert), pair.getPrivate());
        } catch (GeneralSecurityException | IOException | OperatorCreationException e) {
            throw new IllegalStateException("cannot generate a self-signed metrics certificate: " + e.getMessage(), e);
        }
    }

    /** A TLS server context presenting this certificate. */
    public SSLContext sslContext() {
        try {
            KeyStore store = KeyStore.getInstance("PKCS12");
            store.load(null, null);
            char[] none = new char[0];
            store.setKeyEntry("serving", key, none, chain.toArray(X509Certificate[]::new));
            KeyManagerFactory kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
            kmf.init(store, none);
            SSLContext context = SSLContext.getInstance("TLS");
            context.init(kmf.getKeyManagers(), null, null);
            return context;
        } catch (GeneralSecurityException | IOException e) {
            throw new IllegalArgumentException("the metrics certificate and key do not make a TLS context: " + e.getMessage(), e);
        }
    }
}
