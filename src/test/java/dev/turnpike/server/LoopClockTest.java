package dev.turnpike.server;

import org.junit.jupiter.api.Test;

import java.util.concurrent.locks.LockSupport;

import static org.assertj.core.api.Assertions.assertThat;

class LoopClockTest {

    @Test
    void aCallbackReadsTheClockOnceAndOutsideOneEveryReadIsFresh() {
        long before = System.nanoTime();
        LoopClock clock = LoopClock.callback();
        long first;
        try {
            first = LoopClock.nanoTime();
            assertThat(first).isGreaterThanOrEqualTo(before);
            LockSupport.parkNanos(2_000_000);
            assertThat(LoopClock.nanoTime()).isEqualTo(first);

            LoopClock inner = LoopClock.callback(); // a read that completes a write, say
            try {
                assertThat(LoopClock.nanoTime()).as("a nested callback keeps the first reading").isEqualTo(first);
            } finally {
                inner.end();
            }
            assertThat(LoopClock.nanoTime()).isEqualTo(first);
        } finally {
            clock.end();
        }
        long after = LoopClock.nanoTime();
        assertThat(after - first).as("outside a callback the clock moves").isGreaterThanOrEqualTo(2_000_000);
        LockSupport.parkNanos(1_000_000);
        assertThat(LoopClock.nanoTime() - after).isGreaterThanOrEqualTo(1_000_000);
    }

    @Test
    void eachThreadHasItsOwnCallback() throws Exception {
        LoopClock clock = LoopClock.callback();
        try {
            long here = LoopClock.nanoTime();
            long[] there = new long[1];
            Thread t = new Thread(() -> {
                LockSupport.parkNanos(2_000_000);
                there[0] = LoopClock.nanoTime();
            });
            t.start();
            t.join();
            assertThat(there[0] - here).isGreaterThanOrEqualTo(2_000_000);
            assertThat(LoopClock.nanoTime()).isEqualTo(here);
        } finally {
            clock.end();
        }
    }
}
