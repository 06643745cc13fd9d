package dev.flotilla.sharding;

import io.fabric8.kubernetes.api.model.coordination.v1.Lease;
import java.util.Objects;

/** How one Lease write ended. Conflicts and missing Leases are answers, not errors: the state machines act on them. */
sealed interface LeaseWrite {

    /** The outcome of a write future, whichever way it completed. */
    static LeaseWrite settled(LeaseWrite outcome, Throwable error) {
        if (outcome != null) {
            return outcome;
        }
        return new Failed(error != null ? error : new IllegalStateException("lease write completed with nothing"));
    }

    /** Accepted; {@code lease} is what the server stored (with its new resourceVersion). */
    record Written(Lease lease) implements LeaseWrite {
        public Written {
            Objects.requireNonNull(lease, "lease");
        }
    }

    /** 409: created already, or changed since the version the write was based on. */
    record Conflict() implements LeaseWrite {
    }

    /** 404: the Lease does not exist (any more). */
    record Missing() implements LeaseWrite {
    }

    /** Anything else (timeout, 5xx, forbidden): it may or may not have been applied. */
    record Failed(Throwable error) implements LeaseWrite {
        public Failed {
            Objects.requireNonNull(error, "error");
        }
    }
}
