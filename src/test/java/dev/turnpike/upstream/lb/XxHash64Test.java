package dev.turnpike.upstream.lb;

import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;

/** XXH64 against the reference implementation's published vectors, and the in-place text path against bytes. */
class XxHash64Test {

    private static long bytes(String s, long seed) {
        byte[] b = s.getBytes(StandardCharsets.UTF_8);
        return XxHash64.hash(b, 0, b.length, seed);
    }

    @Test
    void referenceVectors() {
        assertThat(bytes("", 0)).isEqualTo(0xEF46DB3751D8E999L);
        assertThat(bytes("a", 0)).isEqualTo(0xD24EC4F1A98C6E5BL);
        assertThat(bytes("abc", 0)).isEqualTo(0x44BC2CF5AD770999L);
        assertThat(bytes("message digest", 0)).isEqualTo(0x066ED728FCEEB3BEL);
        // 32 bytes: exactly one stripe; 39 and 43 bytes: a stripe and every tail size
        assertThat(bytes("a".repeat(32), 0)).isEqualTo(0x856E843298F99AD7L);
        assertThat(bytes("Nobody inspects the spammish repetition", 0)).isEqualTo(0xFBCEA83C8A378BF1L);
        assertThat(bytes("The quick brown fox jumps over the lazy dog", 0)).isEqualTo(0x0B242D361FDA71BCL);
        assertThat(bytes("Nobody inspects the spammish repetition", 1234)).isEqualTo(0x55E30CD248A5419FL);
    }

    @Test
    void textIsHashedAsUtf8() {
        Random rnd = new Random(42);
        for (int len = 0; len < 100; len++) {
            StringBuilder ascii = new StringBuilder();
            StringBuilder unicode = new StringBuilder();
            for (int i = 0; i < len; i++) {
                ascii.append((char) (0x20 + rnd.nextInt(0x5f)));
                unicode.append(rnd.nextInt(4) == 0 ? (char) (0x80 + rnd.nextInt(0x3000)) : (char) ('a' + i % 26));
            }
            long seed = rnd.nextLong();
            assertThat(XxHash64.hash(ascii, seed)).isEqualTo(bytes(ascii.toString(), seed));
            assertThat(XxHash64.hash(ascii.toString(), seed)).isEqualTo(bytes(ascii.toString(), seed));
            assertThat(XxHash64.hash(unicode, seed)).isEqualTo(bytes(unicode.toString(), seed));
        }
        assertThat(XxHash64.hash("abc")).isEqualTo(0x44BC2CF5AD770999L);
    }

    @Test
    void offsetsAreHonoured() {
        byte[] b = "xxNobody inspects the spammish repetitionyy".getBytes(StandardCharsets.US_ASCII);
        assertThat(XxHash64.hash(b, 2, b.length - 4, 0)).isEqualTo(0xFBCEA83C8A378BF1L);
    }

    @Test
    void mixIsABijectionThatSpreads() {
        assertThat(XxHash64.mix(1)).isNotEqualTo(XxHash64.mix(2));
        assertThat(Long.bitCount(XxHash64.mix(1) ^ XxHash64.mix(2))).isBetween(16, 48);
    }
}
