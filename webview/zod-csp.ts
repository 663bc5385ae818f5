/**
 * Imported before any schema is created in the webview: zod 4 probes `new Function` when
 * a schema is built, which a strict CSP (no 'unsafe-eval') reports as a violation.
 */
import { z } from 'zod';

z.config({ jitless: true });
