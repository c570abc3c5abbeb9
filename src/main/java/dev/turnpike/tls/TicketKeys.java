package dev.turnpike.tls;

import io.netty.handler.ssl.OpenSslSessionContext;
import io.netty.handler.ssl.OpenSslSessionTicketKey;
import io.netty.handler.ssl.SslContext;

import java.security.SecureRandom;

/**
 * The session ticket keys of one certificate entry (OpenSSL engine). The first key encrypts new tickets; the
 * previous one still decrypts, so a ticket survives one rotation and lives at most two rotation periods. Each
 * entry has its own keys: a ticket issued where no client certificate is asked for must never resume a session
 * on a certificate that requires one. The JDK engine manages its own ticket keys.
 */
final class TicketKeys {
    private static final SecureRandom RANDOM = new SecureRandom();

    private OpenSslSessionTicketKey current = newKey();
    private OpenSslSessionTicketKey previous;

    /** Makes a new encryption key; the current one is kept for decryption only. */
    synchronized void rotate() {
        previous = current;
        current = newKey();
    }

    /** Installs the keys on {@code context} (a no-op for the JDK engine). */
    synchronized void applyTo(SslContext context) {
        if (context.sessionContext() instanceof OpenSslSessionContext sessions) {
            if (previous == null) {
                sessions.setTicketKeys(current);
            } else {
                sessions.setTicketKeys(current, previous);
            }
        }
    }

    private static OpenSslSessionTicketKey newKey() {
        byte[] name = new byte[OpenSslSessionTicketKey.NAME_SIZE];
        byte[] hmac = new byte[OpenSslSessionTicketKey.HMAC_KEY_SIZE];
        byte[] aes = new byte[OpenSslSessionTicketKey.AES_KEY_SIZE];
        RANDOM.nextBytes(name);
        RANDOM.nextBytes(hmac);
        RANDOM.nextBytes(aes);
        return new OpenSslSessionTicketKey(name, hmac, aes);
    }
}
