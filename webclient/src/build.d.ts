/**
 * RACGATE_TEST_BUILD is true in the test build of the page (build.mjs → dist-test/, which
 * the browser tests load) and false in dist/, the build racgate serves: esbuild drops the
 * code it guards there, so no test hook ships.
 */
declare const RACGATE_TEST_BUILD: boolean;
