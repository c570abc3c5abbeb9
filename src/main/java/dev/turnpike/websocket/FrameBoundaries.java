package dev.turnpike.websocket;

import io.netty.buffer.ByteBuf;

/**
 * Follows one direction of a WebSocket byte stream frame by frame without decoding it: only the header fields that
 * give the frame's extent (RFC 6455 section 5.2: opcode, mask bit, 7/16/64-bit payload length, masking key) are
 * read, and payloads are skipped by arithmetic, so a multi-megabyte frame costs the same as a small one and nothing
 * is buffered or copied. This is what lets a raw splice put a close frame into a stream safely: only between two
 * frames (control frames may also go between the fragments of a message, section 5.4).
 *
 * <p>It does not validate: a peer that breaks framing only misplaces what is injected into its own stream.
 */
final class FrameBoundaries {
    private static final int OPCODE_CLOSE = 0x8;

    private static final byte HEAD = 0;       // between frames
    private static final byte LENGTH = 1;     // after the first header byte
    private static final byte EXT_LENGTH = 2; // reading the 16- or 64-bit length
    private static final byte MASK = 3;       // skipping the masking key
    private static final byte PAYLOAD = 4;

    private byte state = HEAD;
    private byte opcode;
    private byte need;          // bytes left of the extended length or of the masking key
    private boolean masked;
    private boolean closeSeen;
    private long remaining;     // payload bytes left, or the extended length being read

    /** Whether the bytes followed so far end exactly at a frame boundary. */
    boolean atBoundary() {
        return state == HEAD;
    }

    /** Whether a whole close frame has gone by. */
    boolean closeSeen() {
        return closeSeen;
    }

    /**
     * Follows {@code length} bytes of {@code buf} from {@code index} (indexes are absolute, the buffer is not
     * changed). With {@code stopAtEnd} it stops right after the first frame that ends within them.
     *
     * @return how many bytes were followed: {@code length}, or fewer when it stopped at a frame's end
     */
    int follow(ByteBuf buf, int index, int length, boolean stopAtEnd) {
        int i = index;
        int end = index + length;
        while (i < end) {
            switch (state) {
                case HEAD -> {
                    opcode = (byte) (buf.getByte(i++) & 0x0f);
                    state = LENGTH;
                }
                case LENGTH -> {
                    int b = buf.getByte(i++) & 0xff;
                    masked = (b & 0x80) != 0;
                    int len = b & 0x7f;
                    if (len < 126) {
                        remaining = len;
                        afterLength();
                    } else {
                        need = (byte) (len == 126 ? 2 : 8);
                        remaining = 0;
                        state = EXT_LENGTH;
                    }
                }
                case EXT_LENGTH -> {
                    remaining = (remaining << 8) | (buf.getByte(i++) & 0xff);
                    if (--need == 0) {
                        if (remaining < 0) {
                            remaining = Long.MAX_VALUE; // invalid (RFC: the top bit is 0); never ends
                        }
                        afterLength();
                    }
                }
                case MASK -> {
                    int n = Math.min(need, end - i);
                    i += n;
                    need -= (byte) n;
                    if (need == 0) {
                        startPayload();
                    }
                }
                default -> {
                    int n = (int) Math.min(remaining, end - i);
                    i += n;
                    remaining -= n;
                    if (remaining == 0) {
                        frameEnded();
                    }
                }
            }
            if (stopAtEnd && state == HEAD) {
                break;
            }
        }
        return i - index;
    }

    private void afterLength() {
        if (masked) {
            need = 4;
            state = MASK;
        } else {
            startPayload();
        }
    }

    private void startPayload() {
        if (remaining == 0) {
            frameEnded();
        } else {
            state = PAYLOAD;
        }
    }

    private void frameEnded() {
        if (opcode == OPCODE_CLOSE) {
            closeSeen = true;
        }
        state = HEAD;
    }
}
