/** Entry point of the bundled CLI (dist/cli.mjs). */
import { main } from './main';

process.exitCode = await main(process.argv.slice(2));
