package dev.flotilla.sharding.audit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

class OverlapCheckerTest {

    private static ReconcileRecord r(String replica, String ns, long start, long end) {
        return new ReconcileRecord(replica, 0, ns, "obj", start, end);
    }

    @Test
    void aHandoverWithoutOverlapPassesAndOneWithOverlapIsReported() {
        assertThat(OverlapChecker.overlaps(List.of(r("a", "shop", 0, 10), r("b", "shop", 10, 20)))).isEmpty();
        assertThat(OverlapChecker.overlaps(List.of(r("a", "shop", 0, 10), r("a", "shop", 5, 20))))
                .as("one replica may reconcile several objects of a namespace at once").isEmpty();
        assertThat(OverlapChecker.overlaps(List.of(r("a", "shop", 0, 10), r("b", "other", 5, 20)))).isEmpty();
        var found = OverlapChecker.overlaps(List.of(r("a", "shop", 0, 10), r("b", "shop", 9, 20)));
        assertThat(found).singleElement().satisfies(o -> assertThat(o.toString())
                .isEqualTo("namespace shop: a [0, 10) and b [9, 20)"));
    }

    @Test
    void aLongReconcileOverlappingALaterOneIsFoundEvenWithOthersInBetween() {
        List<ReconcileRecord> trail = new ArrayList<>();
        trail.add(r("a", "shop", 0, 1_000)); // a frozen replica still working
        for (int i = 0; i < 50; i++) {
            trail.add(r("a", "shop", 10 + i * 10L, 15 + i * 10L));
        }
        trail.add(r("b", "shop", 900, 950)); // the new owner starts before the old one finished
        assertThat(OverlapChecker.overlaps(trail)).hasSize(1);
    }

    @Test
    void aLargeCleanTrailChecksQuicklyAndRecordsRejectNegativeDurations() {
        Random random = new Random(7);
        List<ReconcileRecord> trail = new ArrayList<>();
        for (int ns = 0; ns < 1000; ns++) {
            long t = 0;
            for (int i = 0; i < 200; i++) {
                long start = t + random.nextInt(5);
                long end = start + 1 + random.nextInt(20);
                trail.add(r(i < 100 ? "a" : "b", "ns-" + ns, start, end)); // handover at the midpoint
                t = end;
            }
        }
        assertThat(OverlapChecker.overlaps(trail)).isEmpty();
        assertThatThrownBy(() -> r("a", "x", 10, 5)).hasMessageContaining("cannot end");
    }
}
