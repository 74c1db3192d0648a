#include "host_read.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>  // Node's own zlib: the node binary exports it to addons

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>

#include "errors.h"

namespace kvmctl {
namespace {

// A JS string of bytes 0..255 as code units 0..255, as src/host/kmsg.ts makes them.
Napi::Value Latin1String(Napi::Env env, const std::string& bytes) {
  napi_value value;
  NAPI_THROW_IF_FAILED(env, napi_create_string_latin1(env, bytes.data(), bytes.size(), &value), Napi::Value());
  return Napi::Value(env, value);
}

int HexDigit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Appends one record ("PRI,SEQ,USEC,FLAGS;message\n KEY=value...") as a dmesg line to out, and
// returns false for a record without that header. Mirrors formatKmsgRecord in src/host/kmsg.ts.
bool AppendRecord(std::string_view record, std::string& out) {
  size_t i = 0;
  uint64_t usec = 0;
  for (int field = 0; field < 3; field++) {
    size_t start = i;
    uint64_t value = 0;
    while (i < record.size() && record[i] >= '0' && record[i] <= '9') value = value * 10 + (record[i++] - '0');
    if (i == start || i >= record.size() || record[i] != ',') return false;
    i++;
    if (field == 2) usec = value;
  }
  size_t semicolon = record.find(';', i);
  if (semicolon == std::string_view::npos) return false;
  // Continuation lines (" KEY=value") carry device metadata that dmesg does not print.
  std::string_view message = record.substr(semicolon + 1);
  message = message.substr(0, message.find('\n'));

  char stamp[48];
  int stamp_len = std::snprintf(stamp, sizeof stamp, "[%5llu.%06llu] ", static_cast<unsigned long long>(usec / 1000000),
                                static_cast<unsigned long long>(usec % 1000000));
  if (!out.empty()) out += '\n';
  out.append(stamp, stamp_len);
  // The kernel escapes "\", control and non-ASCII bytes as \xHH; a newline so unescaped starts an
  // indented continuation line, as dmesg prints it.
  for (size_t j = 0; j < message.size(); j++) {
    char c = message[j];
    if (c == '\\' && j + 3 < message.size() && (message[j + 1] == 'x' || message[j + 1] == 'X')) {
      int high = HexDigit(message[j + 2]);
      int low = HexDigit(message[j + 3]);
      if (high >= 0 && low >= 0) {
        c = static_cast<char>(high * 16 + low);
        j += 3;
      }
    }
    out += c;
    if (c == '\n') out.append(stamp_len, ' ');
  }
  return true;
}

// gzip data decompressed into out, at most max_bytes of it, as Node's gunzipSync reads it; on
// failure returns the error code ("Z_DATA_ERROR", "ERR_BUFFER_TOO_LARGE", "Z_MEM_ERROR").
const char* GunzipBytes(const uint8_t* data, size_t size, double max_bytes, std::string& out) {
  z_stream z{};
  if (inflateInit2(&z, 16 + MAX_WBITS) != Z_OK) return "Z_MEM_ERROR";
  z.next_in = const_cast<Bytef*>(data);
  z.avail_in = static_cast<uInt>(size);
  char chunk[64 * 1024];
  const char* error = nullptr;
  // Concatenated gzip members are one file, as gunzip and Node's gunzipSync read them.
  while (true) {
    z.next_out = reinterpret_cast<Bytef*>(chunk);
    z.avail_out = sizeof chunk;
    int status = inflate(&z, Z_NO_FLUSH);
    out.append(chunk, sizeof chunk - z.avail_out);
    if (static_cast<double>(out.size()) > max_bytes) {
      error = "ERR_BUFFER_TOO_LARGE";
      break;
    }
    if (status == Z_STREAM_END) {
      // As Node's zlib: trailing zero bytes are padding; anything else must be another member.
      if (z.avail_in == 0 || z.next_in[0] == 0x00) break;
      inflateReset(&z);
      continue;
    }
    if (status != Z_OK || (z.avail_in == 0 && z.avail_out != 0)) {
      error = "Z_DATA_ERROR";
      break;
    }
  }
  inflateEnd(&z);
  return error;
}

}  // namespace

Napi::Value ReadKernelLog(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string path = info.Length() > 0 && info[0].IsString() ? info[0].As<Napi::String>().Utf8Value() : "/dev/kmsg";
  int fd = open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) throw SyscallError(env, "open", errno);
  std::string out;
  out.reserve(64 * 1024);
  // /dev/kmsg returns one record per read(); a record is at most about 8 KiB.
  static char buffer[16 * 1024];
  for (;;) {
    ssize_t n = read(fd, buffer, sizeof buffer);
    if (n == 0) break;
    if (n < 0) {
      if (errno == EAGAIN) break;  // the end of the log so far
      if (errno == EPIPE || errno == EINTR) continue;  // records overwritten while reading: go on
      int err = errno;
      close(fd);
      throw SyscallError(env, "read", err);
    }
    AppendRecord(std::string_view(buffer, static_cast<size_t>(n)), out);
  }
  close(fd);
  return Latin1String(env, out);
}

Napi::Value FormatKernelLog(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsString()) throw Napi::TypeError::New(env, "formatKernelLog(records: string)");
  std::string records = info[0].As<Napi::String>().Utf8Value();
  std::string out;
  for (size_t start = 0; start <= records.size();) {
    size_t end = records.find('\0', start);
    if (end == std::string::npos) end = records.size();
    AppendRecord(std::string_view(records).substr(start, end - start), out);
    start = end + 1;
  }
  return Latin1String(env, out);
}

Napi::Value ReadTextFile(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 4 || !info[0].IsString() || !info[1].IsNumber() || !info[2].IsNumber())
    throw Napi::TypeError::New(env, "readTextFile(path: string, capBytes: number, capLines: number, gz: boolean)");
  std::string path = info[0].As<Napi::String>().Utf8Value();
  double cap = info[1].As<Napi::Number>().DoubleValue();
  double cap_lines = info[2].As<Napi::Number>().DoubleValue();
  bool gz = info[3].ToBoolean().Value();
  auto outcome = [&](const char* key, Napi::Value value) {
    Napi::Object out = Napi::Object::New(env);
    out.Set(key, value);
    return out;
  };
  int fd = open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) return outcome("code", Napi::String::New(env, ErrnoName(errno)));
  struct stat st {};
  std::string text;
  Napi::Value result;
  if (fstat(fd, &st) != 0) {
    result = outcome("readCode", Napi::String::New(env, ErrnoName(errno)));
  } else if (!S_ISREG(st.st_mode)) {
    result = outcome("notFile", Napi::String::New(env, S_ISDIR(st.st_mode) ? "folder" : "other"));
  } else if (static_cast<double>(st.st_size) > (gz ? cap : cap + 1)) {
    result = outcome("tooLarge", Napi::Boolean::New(env, true));
  } else {
    // procfs reports size 0 and sysfs 4096 whatever the content: read up to cap + 1 to know
    // (a gzip file up to cap: its decompressed size is what is capped).
    size_t limit = static_cast<size_t>(cap) + (gz ? 0 : 1);
    text.resize(std::min(limit, static_cast<size_t>(st.st_size) + 4096));
    size_t length = 0;
    for (;;) {
      if (length == text.size()) {
        if (length == limit) break;
        text.resize(std::min(limit, 2 * length));
      }
      ssize_t n = read(fd, &text[length], text.size() - length);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) {
        result = outcome("readCode", Napi::String::New(env, ErrnoName(errno)));
        break;
      }
      if (n == 0) break;
      length += static_cast<size_t>(n);
    }
    text.resize(length);
    std::string plain;
    if (result.IsEmpty() && gz) {
      if (GunzipBytes(reinterpret_cast<const uint8_t*>(text.data()), text.size(), cap, plain))
        result = outcome("gzip", Napi::Boolean::New(env, true));
      else
        text.swap(plain);
    }
    if (result.IsEmpty()) {
      // UTF-8 decoding neither makes nor drops a newline: the bytes' count is the text's.
      auto lines = static_cast<double>(std::count(text.begin(), text.end(), '\n'));
      if (!gz && static_cast<double>(length) > cap) result = outcome("tooLarge", Napi::Boolean::New(env, true));
      else if (text.find('\0') != std::string::npos) result = outcome("nul", Napi::Boolean::New(env, true));
      else if (lines > cap_lines) result = outcome("tooManyLines", Napi::Boolean::New(env, true));
      else result = Napi::String::New(env, text);
    }
  }
  close(fd);
  return result;
}

Napi::Value Gunzip(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 2 || !info[0].IsBuffer() || !info[1].IsNumber())
    throw Napi::TypeError::New(env, "gunzip(data: Buffer, maxBytes: number)");
  auto input = info[0].As<Napi::Buffer<uint8_t>>();
  double max_bytes = info[1].As<Napi::Number>().DoubleValue();
  std::string out;
  if (const char* code = GunzipBytes(input.Data(), input.Length(), max_bytes, out)) {
    std::string message = std::string(code) == "ERR_BUFFER_TOO_LARGE"
                              ? "gunzip: larger than " + std::to_string(static_cast<uint64_t>(max_bytes))
                              : "gunzip: not gzip data, or cut short";
    Napi::Error error = Napi::Error::New(env, message);
    error.Set("code", Napi::String::New(env, code));
    throw error;
  }
  return Napi::Buffer<char>::Copy(env, out.data(), out.size());
}

}  // namespace kvmctl
