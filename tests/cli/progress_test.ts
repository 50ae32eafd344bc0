/** The progress bar of `get` (cli/_progress.ts), with a fake clock and a fake terminal width. */
import { captureIo } from "../../cli/_command.ts";
import { formatBytes, formatDuration, ProgressBar, progressBarFor } from "../../cli/_progress.ts";
import { assert, assertEquals, assertMatch, assertStringIncludes } from "../_helpers/assert.ts";

/** A bar on a fake terminal: `time` is the clock, `width` the columns, `writes` what it drew. */
function fakeBar(width = 80, start = 0) {
  const state = { time: 0, width, writes: [] as string[] };
  const bar = new ProgressBar({
    write: (text) => void state.writes.push(text),
    columns: () => state.width,
    now: () => state.time,
    start,
  });
  return { bar, state };
}

/** The visible text of one redraw: without the leading CR, the erase-line and the newline. */
function visible(write: string): string {
  return write.replace(/^\r/, "").replace("\x1b[K", "").replace(/\n$/, "");
}

Deno.test("ProgressBar shows bytes, total, percent, rate and ETA on one line", () => {
  const { bar, state } = fakeBar(80);
  state.time = 1000;
  bar.update(1048576, 10485760);
  assertEquals(state.writes.length, 1);
  const line = visible(state.writes[0]!);
  assertMatch(line, /^ 10% \[=+>\s+\] 1\.0 MiB \/ 10\.0 MiB {2}1\.0 MiB\/s {2}ETA 0:09$/);
  assertEquals(line.length, 79);
  assert(state.writes[0]!.startsWith("\r") && state.writes[0]!.endsWith("\x1b[K"));
});

Deno.test("ProgressBar fits a 40-column terminal and gives up parts on narrower ones", () => {
  for (const width of [40, 30, 20, 12, 5]) {
    const { bar, state } = fakeBar(width);
    for (let i = 1; i <= 10; i++) {
      state.time = i * 500;
      bar.update(i * 1048576, 10 * 1048576 + 1);
    }
    bar.finish(10 * 1048576 + 1, 10 * 1048576 + 1);
    for (const write of state.writes) {
      assert(visible(write).length <= width - 1, `${width}: ${JSON.stringify(write)}`);
    }
  }
  // 40 columns: everything but the bar.
  const { bar, state } = fakeBar(40);
  state.time = 1000;
  bar.update(524288, 1048576);
  assertEquals(visible(state.writes[0]!), " 50% 512K/1.0M 512K/s ETA 0:01");
  state.time = 2000;
  bar.update(786432, 1048576);
  assertEquals(visible(state.writes[1]!), " 75% 768K/1.0M 384K/s ETA 0:01");
  // 60 columns: a bar as well.
  const wide = fakeBar(60);
  wide.state.time = 1000;
  wide.bar.update(524288, 1048576);
  assertMatch(
    visible(wide.state.writes[0]!),
    /^ 50% \[=+> +\] 512\.0 KiB \/ 1\.0 MiB {2}512\.0 KiB\/s {2}ETA 0:01$/,
  );
  // Narrow: the time goes, then the rate.
  const narrow = fakeBar(25);
  narrow.state.time = 1000;
  narrow.bar.update(524288, 1048576);
  assertEquals(visible(narrow.state.writes[0]!), " 50% 512K/1.0M 512K/s");
});

Deno.test("ProgressBar asks the terminal width again at every redraw", () => {
  const { bar, state } = fakeBar(100);
  state.time = 1000;
  bar.update(100, 1000);
  state.width = 40;
  state.time = 1200;
  bar.update(200, 1000);
  // The bar fills 100 columns, then there is no room for it in 40.
  assertEquals(visible(state.writes[0]!).length, 99);
  assertEquals(visible(state.writes[1]!), " 20% 200 B / 1000 B  167 B/s  ETA 0:05");
});

Deno.test("ProgressBar redraws at most every 100 ms, and always draws the final line", () => {
  const { bar, state } = fakeBar();
  for (let t = 0; t <= 1000; t += 10) {
    state.time = t;
    bar.update(t * 100, 100000);
  }
  assertEquals(state.writes.length, 11);
  state.time = 1005;
  bar.finish(100000, 100000);
  assertEquals(state.writes.length, 12);
  const last = state.writes[11]!;
  assert(last.endsWith("\x1b[K\n"));
  assertMatch(visible(last), /^100% \[=+\] 97\.7 KiB \/ 97\.7 KiB {2}97\.2 KiB\/s {2}in 1\.0s$/);
  // Nothing more after the final line.
  bar.update(1, 2);
  bar.finish(1, 2);
  bar.stop();
  assertEquals(state.writes.length, 12);
  assert(bar.finished);
});

Deno.test("ProgressBar measures the rate over the last seconds, so the ETA follows a slowdown", () => {
  const { bar, state } = fakeBar(80);
  const total = 100 * 1048576;
  let loaded = 0;
  // 10 s at 4 MiB/s, then 10 s at 1 MiB/s.
  for (let t = 100; t <= 20000; t += 100) {
    loaded += t <= 10000 ? 419430.4 : 104857.6;
    state.time = t;
    bar.update(Math.round(loaded), total);
  }
  const line = visible(state.writes[state.writes.length - 1]!);
  assertStringIncludes(line, "1.0 MiB/s");
  // 50 MiB left at 1 MiB/s.
  assertStringIncludes(line, "ETA 0:50");
});

Deno.test("ProgressBar without a total shows the bytes and the rate, no percent and no ETA", () => {
  const { bar, state } = fakeBar(80);
  state.time = 2000;
  bar.update(2048, null);
  assertEquals(visible(state.writes[0]!), "2.0 KiB  1.0 KiB/s");
  state.time = 4000;
  bar.finish(4096, null);
  assertEquals(visible(state.writes[1]!), "4.0 KiB  1.0 KiB/s  in 4.0s");
});

Deno.test("ProgressBar shows no rate before it can measure one", () => {
  const { bar, state } = fakeBar(80);
  state.time = 10;
  bar.update(10, 100);
  assertStringIncludes(visible(state.writes[0]!), "--- B/s  ETA --:--");
});

Deno.test("ProgressBar after a resume counts the earlier bytes in the percent, not in the rate", () => {
  const { bar, state } = fakeBar(80, 5 * 1048576);
  state.time = 1000;
  bar.update(6 * 1048576, 10 * 1048576);
  const line = visible(state.writes[0]!);
  assertStringIncludes(line, " 60% ");
  assertStringIncludes(line, "1.0 MiB/s");
  assertStringIncludes(line, "ETA 0:04");
  const other = fakeBar(80);
  other.state.time = 500;
  other.bar.resumeFrom(9 * 1048576);
  other.state.time = 1500;
  other.bar.update(10 * 1048576 - 524288, 10 * 1048576);
  assertStringIncludes(visible(other.state.writes[0]!), "512.0 KiB/s");
});

Deno.test("ProgressBar.stop() ends a drawn line with a newline, and draws nothing when nothing was drawn", () => {
  const drawn = fakeBar();
  drawn.bar.update(1, 10);
  drawn.bar.stop();
  assertEquals(drawn.state.writes.slice(1), ["\n"]);
  const silent = fakeBar();
  silent.bar.stop();
  assertEquals(silent.state.writes, []);
});

Deno.test("ProgressBar.onProgress updates, and finishes at done", () => {
  const { bar, state } = fakeBar();
  state.time = 500;
  bar.onProgress({ loaded: 5, total: 10, done: false });
  state.time = 1000;
  bar.onProgress({ loaded: 10, total: 10, done: true });
  assertEquals(state.writes.length, 2);
  assert(state.writes[1]!.endsWith("\n"));
  assert(bar.finished);
});

Deno.test("progressBarFor() draws only when standard error is a terminal and not silent", () => {
  const io = captureIo();
  assertEquals(progressBarFor(io), undefined);
  io.errIsTerminal = true;
  io.columns = () => 40;
  let time = 0;
  io.now = () => time;
  assertEquals(progressBarFor(io, true), undefined);
  const bar = progressBarFor(io)!;
  time = 1000;
  bar.update(512, 1024);
  assertStringIncludes(io.stderr, " 50% 512 B / 1.0 KiB  512 B/s  ETA 0:01");
  assert(io.stderr.replace(/^\r/, "").replace("\x1b[K", "").length <= 39);
  assertEquals(io.stdout, "");
});

Deno.test("formatBytes() and formatDuration() use binary units and clock times", () => {
  assertEquals(
    [0, 1023, 1024, 1536, 1048576, 5 * 1073741824].map(formatBytes),
    ["0 B", "1023 B", "1.0 KiB", "1.5 KiB", "1.0 MiB", "5.00 GiB"],
  );
  assertEquals(
    [0, 4.2, 59, 60, 3599, 3600, 3661, 360000].map(formatDuration),
    ["0:00", "0:05", "0:59", "1:00", "59:59", "1:00:00", "1:01:01", ">99h"],
  );
});
