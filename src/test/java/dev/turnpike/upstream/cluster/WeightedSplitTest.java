package dev.turnpike.upstream.cluster;

import org.junit.jupiter.api.Test;

import java.util.HashMap;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

class WeightedSplitTest {

    @Test
    void drawsMapToLegsByCumulativeWeight() {
        WeightedSplit<String> s = WeightedSplit.of(List.of("stable", "canary", "dark"), List.of(90, 9, 1));
        assertThat(s.totalWeight()).isEqualTo(100);
        assertThat(s.pick(0)).isEqualTo("stable");
        assertThat(s.pick(89)).isEqualTo("stable");
        assertThat(s.pick(90)).isEqualTo("canary");
        assertThat(s.pick(98)).isEqualTo("canary");
        assertThat(s.pick(99)).isEqualTo("dark");
        assertThatThrownBy(() -> s.pick(100)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> s.pick(-1)).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void distributionFollowsTheWeights() {
        WeightedSplit<String> s = WeightedSplit.of(List.of("a", "b", "c", "d"), List.of(1, 2, 3, 14));
        int n = 400_000;
        Map<String, Integer> counts = new HashMap<>();
        for (int i = 0; i < n; i++) {
            counts.merge(s.pick(), 1, Integer::sum);
        }
        // 4 standard deviations of a binomial at n = 400k is below 0.3 percentage points
        assertThat(counts.get("a") / (double) n).isCloseTo(0.05, within(0.005));
        assertThat(counts.get("b") / (double) n).isCloseTo(0.10, within(0.005));
        assertThat(counts.get("c") / (double) n).isCloseTo(0.15, within(0.005));
        assertThat(counts.get("d") / (double) n).isCloseTo(0.70, within(0.005));
    }

    @Test
    void oneLegAlwaysWins() {
        WeightedSplit<String> s = WeightedSplit.of(List.of("only"), List.of(7));
        for (int i = 0; i < 100; i++) {
            assertThat(s.pick()).isEqualTo("only");
        }
    }

    @Test
    void rejectsBadLegs() {
        assertThatThrownBy(() -> WeightedSplit.of(List.of(), List.of())).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> WeightedSplit.of(List.of("a"), List.of(0)))
                .isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> WeightedSplit.of(List.of("a", "b"), List.of(1)))
                .isInstanceOf(IllegalArgumentException.class);
    }
}
