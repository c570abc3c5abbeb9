package dev.turnpike.upstream.lb;

import java.util.Arrays;

/**
 * A small identity set of the endpoints a request's attempts went to, for {@link PickContext#isTried}. Sized for a
 * handful of retries (linear search, no boxing, no hashing). Not thread-safe: it belongs to one request.
 */
public final class TriedEndpoints {
    private EndpointState[] items = new EndpointState[4];
    private int size;

    public void add(EndpointState endpoint) {
        if (contains(endpoint)) {
            return;
        }
        if (size == items.length) {
            items = Arrays.copyOf(items, size * 2);
        }
        items[size++] = endpoint;
    }

    public boolean contains(EndpointState endpoint) {
        for (int i = 0; i < size; i++) {
            if (items[i] == endpoint) {
                return true;
            }
        }
        return false;
    }

    public int size() {
        return size;
    }

    public void clear() {
        Arrays.fill(items, 0, size, null);
        size = 0;
    }
}
