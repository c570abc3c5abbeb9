package dev.turnpike.http;

import java.util.Locale;

/** Choosing between the HTML and JSON forms of what Turnpike itself generates (error pages, listings). */
public final class ContentNegotiation {
    private ContentNegotiation() {}

    /**
     * JSON when the client's Accept header ranks application/json (or an application/*+json type) strictly
     * above text/html and XHTML; a browser's Accept, a tie, or no header gives HTML.
     */
    public static boolean prefersJson(String accept) {
        if (accept == null) {
            return false;
        }
        double json = -1;
        double html = -1;
        for (String part : accept.split(",")) {
            String[] params = part.split(";");
            String type = params[0].strip().toLowerCase(Locale.ROOT);
            double q = 1.0;
            for (int i = 1; i < params.length; i++) {
                String p = params[i].strip();
                if (p.length() >= 2 && (p.charAt(0) == 'q' || p.charAt(0) == 'Q') && p.charAt(1) == '=') {
                    try {
                        q = Double.parseDouble(p.substring(2).strip());
                    } catch (NumberFormatException e) {
                        q = 0;
                    }
                }
            }
            if (type.equals("application/json") || (type.startsWith("application/") && type.endsWith("+json"))) {
                json = Math.max(json, q);
            } else if (type.equals("text/html") || type.equals("application/xhtml+xml")) {
                html = Math.max(html, q);
            }
        }
        return json > 0 && json > html;
    }
}
