package dev.flotilla.resilience.fabric8;

import dev.flotilla.resilience.guard.RequestGuard;
import io.fabric8.kubernetes.client.RequestConfig;
import io.fabric8.kubernetes.client.RequestConfigBuilder;
import io.fabric8.kubernetes.client.http.HttpClient;
import io.fabric8.kubernetes.client.http.Interceptor;
import io.fabric8.kubernetes.client.http.TlsVersion;
import java.net.InetSocketAddress;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.KeyManager;
import javax.net.ssl.TrustManager;

/**
 * Wraps fabric8's HTTP client builder so that what it builds is a {@link GuardedHttpClient}, and so that
 * fabric8's own request retry stays off: every {@link RequestConfig} handed to the builder (fabric8 passes the
 * client {@code Config}'s one as a tag; a per-operation {@code withRequestConfig} does the same on a derived
 * builder) is replaced by a copy with {@code requestRetryBackoffLimit = 0}, and a builder that received none
 * gets one. The guard is then the only retry layer.
 */
final class GuardedHttpClientBuilder implements HttpClient.Builder {

    private final HttpClient.Builder delegate;
    private final RequestGuard guard;
    private final AttemptMetrics metrics;
    private boolean requestConfigTagged;

    GuardedHttpClientBuilder(HttpClient.Builder delegate, RequestGuard guard, AttemptMetrics metrics) {
        this.delegate = delegate;
        this.guard = guard;
        this.metrics = metrics;
    }

    /** A copy of {@code config} (or a fresh one) with fabric8's request retry switched off. */
    static RequestConfig withoutRetry(RequestConfig config) {
        RequestConfig copy = config == null
                ? new RequestConfigBuilder().build()
                : new RequestConfigBuilder(config).build();
        copy.setRequestRetryBackoffLimit(0);
        return copy;
    }

    @Override
    public HttpClient build() {
        if (!requestConfigTagged) {
            delegate.tag(withoutRetry(null));
        }
        return new GuardedHttpClient(delegate.build(), guard, metrics);
    }

    @Override
    public HttpClient.DerivedClientBuilder tag(Object value) {
        if (value instanceof RequestConfig config) {
            requestConfigTagged = true;
            delegate.tag(withoutRetry(config));
        } else {
            delegate.tag(value);
        }
        return this;
    }

    @Override
    public HttpClient.Builder connectTimeout(long connectTimeout, TimeUnit unit) {
        delegate.connectTimeout(connectTimeout, unit);
        return this;
    }

    @Override
    public HttpClient.Builder websocketPingInterval(long interval, TimeUnit unit) {
        delegate.websocketPingInterval(interval, unit);
        return this;
    }

    @Override
    public HttpClient.Builder addOrReplaceInterceptor(String name, Interceptor interceptor) {
        delegate.addOrReplaceInterceptor(name, interceptor);
        return this;
    }

    @Override
    public HttpClient.Builder authenticatorNone() {
        delegate.authenticatorNone();
        return this;
    }

    @Override
    public HttpClient.Builder sslContext(KeyManager[] keyManagers, TrustManager[] trustManagers) {
        delegate.sslContext(keyManagers, trustManagers);
        return this;
    }

    @Override
    public HttpClient.Builder followAllRedirects() {
        delegate.followAllRedirects();
        return this;
    }

    @Override
    public HttpClient.Builder proxyAddress(InetSocketAddress proxyAddress) {
        delegate.proxyAddress(proxyAddress);
        return this;
    }

    @Override
    public HttpClient.Builder proxyAuthorization(String credentials) {
        delegate.proxyAuthorization(credentials);
        return this;
    }

    @Override
    public HttpClient.Builder tlsVersions(TlsVersion... tlsVersions) {
        delegate.tlsVersions(tlsVersions);
        return this;
    }

    @Override
    public HttpClient.Builder tlsServerName(String serverName) {
        delegate.tlsServerName(serverName);
        return this;
    }

    @Override
    public HttpClient.Builder preferHttp11() {
        delegate.preferHttp11();
        return this;
    }

    @Override
    public HttpClient.Builder proxyType(HttpClient.ProxyType type) {
        delegate.proxyType(type);
        return this;
    }

    /** A builder derived from a guarded client: builds a guarded client sharing the guard. */
    static final class Derived implements HttpClient.DerivedClientBuilder {
        private final HttpClient.DerivedClientBuilder delegate;
        private final RequestGuard guard;
        private final AttemptMetrics metrics;

        Derived(HttpClient.DerivedClientBuilder delegate, RequestGuard guard, AttemptMetrics metrics) {
            this.delegate = delegate;
            this.guard = guard;
            this.metrics = metrics;
        }

        @Override
        public HttpClient build() {
            return new GuardedHttpClient(delegate.build(), guard, metrics);
        }

        @Override
        public HttpClient.DerivedClientBuilder addOrReplaceInterceptor(String name, Interceptor interceptor) {
            delegate.addOrReplaceInterceptor(name, interceptor);
            return this;
        }

        @Override
        public HttpClient.DerivedClientBuilder authenticatorNone() {
            delegate.authenticatorNone();
            return this;
        }

        @Override
        public HttpClient.DerivedClientBuilder tag(Object value) {
            delegate.tag(value instanceof RequestConfig config ? withoutRetry(config) : value);
            return this;
        }
    }
}
