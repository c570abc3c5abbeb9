package dev.turnpike.http1;

/**
 * Size limits enforced by {@link StrictHttp1RequestDecoder}.
 *
 * @param maxRequestLineLength maximum request-line length in bytes, excluding the terminating CRLF
 *                             (exceeded: 414)
 * @param maxHeaderSectionSize maximum total size in bytes of the field lines of a header section
 *                             (or of a trailer section), each counted including its CRLF; the
 *                             request line and the final empty line are not counted (exceeded: 431)
 * @param maxHeaderCount       maximum number of field lines in a header (or trailer) section
 *                             (exceeded: 431)
 */
public record Http1Limits(int maxRequestLineLength, int maxHeaderSectionSize, int maxHeaderCount) {
    public Http1Limits {
        if (maxRequestLineLength < 1) {
            throw new IllegalArgumentException("maxRequestLineLength must be >= 1: " + maxRequestLineLength);
        }
        if (maxHeaderSectionSize < 1) {
            throw new IllegalArgumentException("maxHeaderSectionSize must be >= 1: " + maxHeaderSectionSize);
        }
        if (maxHeaderCount < 1) {
            throw new IllegalArgumentException("maxHeaderCount must be >= 1: " + maxHeaderCount);
        }
    }
}
