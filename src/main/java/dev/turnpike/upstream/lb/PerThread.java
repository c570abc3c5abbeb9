package dev.turnpike.upstream.lb;

import io.netty.util.concurrent.FastThreadLocal;

import java.util.Arrays;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Supplier;

/**
 * One value per thread, owned by one object (a selector), for algorithms that are inherently sequential: each
 * event loop gets its own instance, the way nginx keeps smooth weighted round robin per worker.
 *
 * <p>Each thread gets a process-wide slot number once (a single static {@link FastThreadLocal}, so building
 * selectors never allocates thread-local indexes); an owner keeps its values in an array indexed by slot. The hot
 * path is a thread-local read and an array read. Values are created and the array grown under the owner's lock,
 * once per thread; a slot's value is only ever used by its thread. Slots are not recycled: threads that pick are
 * expected to be the long-lived event loops.
 */
final class PerThread<T> {
    private static final AtomicInteger NEXT_SLOT = new AtomicInteger();
    private static final FastThreadLocal<int[]> SLOT = new FastThreadLocal<>() {
        @Override
        protected int[] initialValue() {
            return new int[] {NEXT_SLOT.getAndIncrement()};
        }
    };

    private final Supplier<T> initial;
    private volatile Object[] values = new Object[8];

    PerThread(Supplier<T> initial) {
        this.initial = initial;
    }

    @SuppressWarnings("unchecked")
    T get() {
        int slot = SLOT.get()[0];
        Object[] a = values;
        if (slot < a.length) {
            Object v = a[slot];
            if (v != null) {
                return (T) v;
            }
        }
        return create(slot);
    }

    @SuppressWarnings("unchecked")
    private synchronized T create(int slot) {
        Object[] a = values;
        if (slot >= a.length) {
            a = Arrays.copyOf(a, Math.max(slot + 1, a.length * 2));
        }
        Object v = a[slot];
        if (v == null) {
            v = initial.get();
            a[slot] = v;
        }
        values = a;
        return (T) v;
    }
}
