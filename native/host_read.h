// Reads `kvmctl check` makes natively only because they are hot on every run: the kernel log
// (one read() per record, hundreds of records) and gzip files (/proc/config.gz). Done in JS, they
// cost about 4 ms of syscalls and record formatting, and Node's zlib module, which loads Node's
// whole stream stack (about 5 ms), on a start of under 100 ms. src/host/kmsg.ts holds the same
// formatting in TypeScript, and tests prove both give the same text.
#pragma once
#include <napi.h>

namespace kvmctl {

// readKernelLog(path = "/dev/kmsg"): the log as `dmesg` prints it ("[    0.357779] kvm-pvm: loaded"),
// one line per record. Throws a syscall error with .code (EACCES, ENOENT, ...) when it cannot open.
Napi::Value ReadKernelLog(const Napi::CallbackInfo& info);

// formatKernelLog(records): the same formatting of raw records ("6,339,357779,-;text") joined by NUL.
Napi::Value FormatKernelLog(const Napi::CallbackInfo& info);

// readTextFile(path, capBytes, capLines, gz): a file's UTF-8 text, read as src/host/host.ts's
// readCapped reads it (O_NONBLOCK, regular files only, at most capBytes and capLines, gunzipped
// when gz), in one call instead of five fs calls and a buffer per file; else {code} (the open's
// errno name), {readCode} (fstat's or read's), {notFile: "folder" | "other"}, {tooLarge}, {gzip}
// (not gzip data, or past the cap once decompressed), {nul} (binary content) or {tooManyLines}.
Napi::Value ReadTextFile(const Napi::CallbackInfo& info);

// gunzip(data: Buffer, maxBytes): the decompressed bytes of one or more gzip members. Throws an
// Error with .code "Z_DATA_ERROR" for data that is not gzip, "ERR_BUFFER_TOO_LARGE" past maxBytes.
Napi::Value Gunzip(const Napi::CallbackInfo& info);

}  // namespace kvmctl
