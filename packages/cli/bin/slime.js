#!/usr/bin/env node
// npm links a package's bins before the root `prepare` script builds dist/, and skips a bin whose
// file does not exist yet; this committed launcher always exists, so `npm install` links
// node_modules/.bin/slime on a clean clone and `npx slime` works.
import '../dist/bin.js';
