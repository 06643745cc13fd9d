package dev.flotilla.resilience.guard;

/**
 * What the guard does with a request, decided once per request by {@link RequestClassifier}.
 *
 * <table>
 *   <caption>Kinds and their treatment</caption>
 *   <tr><th>kind</th><th>budget</th><th>breaker</th><th>retried on</th></tr>
 *   <tr><td>READ</td><td>requests</td><td>yes</td><td>5xx (500/502/503/504), 429, timeouts, connection errors</td></tr>
 *   <tr><td>GUARDED_WRITE</td><td>requests</td><td>yes</td><td>as READ: repeating it cannot apply it twice</td></tr>
 *   <tr><td>UNGUARDED_WRITE</td><td>requests</td><td>yes</td><td>only when the server provably did not process it:
 *       429, connection refused / not connected</td></tr>
 *   <tr><td>UPLOAD</td><td>requests</td><td>yes</td><td>never: a streamed body cannot be sent twice</td></tr>
 *   <tr><td>WATCH</td><td>requests, one permit per connection</td><td>yes</td>
 *       <td>never: the informer reconnects</td></tr>
 *   <tr><td>STREAM</td><td>requests, one permit per connection</td><td>yes</td>
 *       <td>never (exec, attach, port-forward, log follow)</td></tr>
 *   <tr><td>LEASE</td><td>leases</td><td>no</td>
 *       <td>never: the lease holder's renew loop is the one retry layer</td></tr>
 *   <tr><td>LEASE_WATCH</td><td>leases, one permit per connection</td><td>no</td>
 *       <td>never: the informer reconnects</td></tr>
 * </table>
 */
public enum RequestKind {
    /** GET, LIST, HEAD; access reviews (POSTs that store nothing). */
    READ(Budget.REQUESTS, RetryPolicy.IDEMPOTENT, true, false),
    /**
     * A write that is safe to repeat: update or merge/strategic patch carrying {@code metadata.resourceVersion},
     * a JSON patch with a {@code test} op, server-side apply, a delete with preconditions, a dry run.
     */
    GUARDED_WRITE(Budget.REQUESTS, RetryPolicy.IDEMPOTENT, true, false),
    /** Create (POST), and updates, patches and deletes without a precondition. */
    UNGUARDED_WRITE(Budget.REQUESTS, RetryPolicy.NOT_PROCESSED_ONLY, true, false),
    /** A request whose body is a stream, which cannot be sent a second time. */
    UPLOAD(Budget.REQUESTS, RetryPolicy.NEVER, true, false),
    /** A watch connection (HTTP streaming or WebSocket); long-running. */
    WATCH(Budget.REQUESTS, RetryPolicy.NEVER, true, true),
    /** Another long-running connection: exec, attach, port-forward, following logs. */
    STREAM(Budget.REQUESTS, RetryPolicy.NEVER, true, true),
    /**
     * Reads, lists and writes of {@code coordination.k8s.io} Leases (creating, renewing, releasing): their own budget
     * and not blocked by the breaker, so throttled or failing bulk traffic never costs a replica its leases.
     */
    LEASE(Budget.LEASES, RetryPolicy.NEVER, false, false),
    /**
     * A watch of Leases: how a replica sees its group. Not blocked by the breaker either: a replica whose renewals
     * succeed again after an outage but whose view waited for the breaker would be assigned shards it cannot see
     * (measured: shards unowned 12 s after a 20 s partition, the breaker having reopened on its last probe).
     */
    LEASE_WATCH(Budget.LEASES, RetryPolicy.NEVER, false, true);

    /** Which token bucket pays for a request. */
    public enum Budget {
        REQUESTS("requests"), LEASES("leases");

        private final String label;

        Budget(String label) {
            this.label = label;
        }

        public String label() {
            return label;
        }
    }

    /** When a failed attempt is repeated. */
    public enum RetryPolicy {
        /** On 5xx, 429, timeouts and connection errors. */
        IDEMPOTENT,
        /** Only when the server cannot have processed it: 429, or no connection was made. */
        NOT_PROCESSED_ONLY,
        NEVER
    }

    private final Budget budget;
    private final RetryPolicy retryPolicy;
    private final boolean gatedByBreaker;
    private final boolean longRunning;

    RequestKind(Budget budget, RetryPolicy retryPolicy, boolean gatedByBreaker, boolean longRunning) {
        this.budget = budget;
        this.retryPolicy = retryPolicy;
        this.gatedByBreaker = gatedByBreaker;
        this.longRunning = longRunning;
    }

    public Budget budget() {
        return budget;
    }

    public RetryPolicy retryPolicy() {
        return retryPolicy;
    }

    /** Whether the circuit breaker may reject it and records its outcome. */
    public boolean gatedByBreaker() {
        return gatedByBreaker;
    }

    /**
     * Whether it changes stored state, and so passes the {@link dev.flotilla.core.fence.WriteFence} before
     * each attempt. Lease requests are not: they are how a replica holds what the fence checks.
     */
    public boolean isWrite() {
        return this == GUARDED_WRITE || this == UNGUARDED_WRITE || this == UPLOAD;
    }

    /** A connection that stays open (watch, exec, ...): one permit per connection, no latency observation. */
    public boolean longRunning() {
        return longRunning;
    }
}
