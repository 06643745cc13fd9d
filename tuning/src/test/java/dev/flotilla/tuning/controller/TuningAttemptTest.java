package dev.flotilla.tuning.controller;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.flotilla.core.fence.FencedWrite;
import io.fabric8.kubernetes.client.KubernetesClientException;
import java.net.SocketTimeoutException;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** A tuning action's failure is reported and the pass goes on, except an interrupt or a fenced write: those end it. */
class TuningAttemptTest {

    static final class Fenced extends RuntimeException implements FencedWrite {
        Fenced() {
            super("write fenced, request not sent");
        }

        @Override
        public String fenceReason() {
            return "shard 3 is not held";
        }
    }

    @AfterEach
    void clearInterrupt() {
        Thread.interrupted();
    }

    @Test
    void anOrdinaryFailureIsReportedAndThePassGoesOn() throws Exception {
        var outcome = TuningReconciler.attempt("Pod/web-0", "InPlace", () -> {
            throw new KubernetesClientException("conflict", 409, null);
        });
        assertThat(outcome.result()).isEqualTo("Failed");
        var timeout = TuningReconciler.attempt("Pod/web-0", "InPlace", () -> {
            throw new KubernetesClientException("timeout", new SocketTimeoutException("read timed out"));
        });
        assertThat(timeout.result()).as("a timeout is no interrupt").isEqualTo("Failed");
    }

    @Test
    void anInterruptFabric8WrappedEndsThePass() {
        KubernetesClientException wrapped = new KubernetesClientException("interrupted", new InterruptedException());
        assertThatThrownBy(() -> TuningReconciler.attempt("Pod/web-0", "InPlace", () -> {
            throw wrapped;
        })).isInstanceOf(InterruptedException.class).hasCause(wrapped);
        assertThat(Thread.currentThread().isInterrupted()).as("the interrupt is kept").isTrue();
    }

    @Test
    void aFencedWriteEndsThePass() {
        Fenced fenced = new Fenced();
        assertThatThrownBy(() -> TuningReconciler.attempt("Deployment/web", "Apply", () -> {
            throw new KubernetesClientException("wrapped", fenced);
        })).isInstanceOf(KubernetesClientException.class).hasCause(fenced);
    }
}
