// Runs a Python script under Pyodide (CPython compiled to WebAssembly) in
// Node.js, the way "python -c CODE ARGS..." or "python FILE ARGS..." runs
// it: sys.argv, os.environ, the working directory, raw standard input,
// output and error, and the exit status as a process's. The host's
// directories are mounted at their own paths, so that files named on the
// command line are found. Pyodide has no sockets and no subprocesses;
// Python code reaches Node's synchronous file calls (for FIFOs, which
// Pyodide's file system cannot open) as js.nodeFs.
//
// Usage: node run.mjs -c CODE [ARG...]
//        node run.mjs FILE [ARG...]
import fs from "node:fs";
import { loadPyodide } from "pyodide";

globalThis.nodeFs = fs;

const argv = process.argv.slice(2);
let code, filename;
if (argv[0] === "-c") {
  code = argv[1];
  filename = "<string>";
  argv.splice(0, 2, "-c");
} else if (argv.length > 0) {
  filename = argv[0];
  code = fs.readFileSync(filename, "utf8");
} else {
  process.stderr.write("usage: node run.mjs -c CODE [ARG...] | FILE [ARG...]\n");
  process.exit(2);
}

// retry repeats a synchronous call that failed because the descriptor is
// non-blocking and not ready.
function retry(fn) {
  for (;;) {
    try {
      return fn();
    } catch (e) {
      if (e.code !== "EAGAIN") throw e;
    }
  }
}

function writeAll(fd, buf) {
  let off = 0;
  while (off < buf.length) {
    off += retry(() => fs.writeSync(fd, buf, off, buf.length - off));
  }
  return buf.length;
}

const py = await loadPyodide({
  env: { ...process.env },
});
py.setStdin({
  read(buf) {
    try {
      return retry(() => fs.readSync(0, buf, 0, buf.length, null));
    } catch (e) {
      if (e.code === "EOF") return 0;
      throw e;
    }
  },
});
py.setStdout({ write: (buf) => writeAll(1, buf) });
py.setStderr({ write: (buf) => writeAll(2, buf) });

// The host's top-level directories, at their own paths (not those that
// hold Pyodide's own files or the kernel's).
const skip = new Set(["dev", "proc", "sys", "lib", "lib32", "lib64", "usr", "bin", "sbin", "etc", "boot", "run"]);
for (const name of fs.readdirSync("/")) {
  if (skip.has(name)) continue;
  let st;
  try {
    st = fs.statSync("/" + name);
  } catch {
    continue;
  }
  if (!st.isDirectory()) continue;
  try {
    py.FS.mkdirTree("/" + name);
    py.FS.mount(py.FS.filesystems.NODEFS, { root: "/" + name }, "/" + name);
  } catch {
    // Left to Pyodide's own file system.
  }
}
try {
  py.FS.chdir(process.cwd());
} catch {
  // The working directory is not reachable: stay in Pyodide's.
}

py.globals.set("_mpconn_argv", py.toPy(argv));
py.globals.set("_mpconn_code", code);
py.globals.set("_mpconn_filename", filename);
const status = py.runPython(`
def _mpconn_main():
    import sys, traceback
    sys.argv = list(_mpconn_argv)
    g = {"__name__": "__main__", "__file__": _mpconn_filename}
    status = 0
    try:
        exec(compile(_mpconn_code, _mpconn_filename, "exec"), g)
    except SystemExit as e:
        if e.code is None:
            status = 0
        elif isinstance(e.code, int):
            status = e.code
        else:
            print(e.code, file=sys.stderr)
            status = 1
    except BaseException:
        traceback.print_exc()
        status = 1
    for f in (sys.stdout, sys.stderr):
        try:
            f.flush()
        except Exception:
            pass
    return status
_mpconn_main()
`);
process.exitCode = status;
