package dev.turnpike.upstream.cluster;

import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.ThreadLocalRandom;

/**
 * Picks one of several targets with probability weight ÷ total weight: the legs of a route's {@code split} (canary
 * releases), built by {@link Clusters#split}. Immutable and lock-free: a pick is one {@link ThreadLocalRandom} draw and a
 * search of a small prefix-sum array; it allocates nothing.
 *
 * @param <T> the target type ({@link ClusterRuntime} in the proxy)
 */
public final class WeightedSplit<T> {

    /** One leg: a target and its weight (positive). */
    public record Leg<T>(T target, int weight) {
        public Leg {
            Objects.requireNonNull(target, "target");
            if (weight < 1) {
                throw new IllegalArgumentException("split weight must be positive, got " + weight + " for " + target);
            }
        }
    }

    private final Object[] targets;
    /** cumulative[i] = sum of the weights of legs 0..i. */
    private final long[] cumulative;
    private final long total;
    private final List<Leg<T>> legs;

    public WeightedSplit(List<Leg<T>> legs) {
        if (legs.isEmpty()) {
            throw new IllegalArgumentException("a split needs at least one leg");
        }
        this.legs = List.copyOf(legs);
        this.targets = new Object[legs.size()];
        this.cumulative = new long[legs.size()];
        long sum = 0;
        for (int i = 0; i < legs.size(); i++) {
            Leg<T> leg = legs.get(i);
            sum += leg.weight();
            targets[i] = leg.target();
            cumulative[i] = sum;
        }
        this.total = sum;
    }

    /** A split over {@code targets} with the same-indexed {@code weights}. */
    public static <T> WeightedSplit<T> of(List<T> targets, List<Integer> weights) {
        if (targets.size() != weights.size()) {
            throw new IllegalArgumentException(targets.size() + " targets but " + weights.size() + " weights");
        }
        List<Leg<T>> legs = new ArrayList<>(targets.size());
        for (int i = 0; i < targets.size(); i++) {
            legs.add(new Leg<>(targets.get(i), weights.get(i)));
        }
        return new WeightedSplit<>(legs);
    }

    /** A target chosen at random by weight. */
    public T pick() {
        return targets.length == 1 ? target(0) : pick(ThreadLocalRandom.current().nextLong(total));
    }

    /** The target that the draw {@code r} (0 ≤ r < {@link #totalWeight()}) selects: deterministic, for tests. */
    public T pick(long r) {
        if (r < 0 || r >= total) {
            throw new IllegalArgumentException("draw " + r + " outside [0, " + total + ")");
        }
        int lo = 0;
        int hi = cumulative.length - 1;
        while (lo < hi) { // the first leg whose cumulative weight exceeds r
            int mid = (lo + hi) >>> 1;
            if (cumulative[mid] > r) {
                hi = mid;
            } else {
                lo = mid + 1;
            }
        }
        return target(lo);
    }

    @SuppressWarnings("unchecked")
    private T target(int i) {
        return (T) targets[i];
    }

    public long totalWeight() {
        return total;
    }

    public List<Leg<T>> legs() {
        return legs;
    }

    @Override
    public String toString() {
        return "WeightedSplit" + legs;
    }
}
