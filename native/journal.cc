// tradecore native journal storage: a journal segment file mapped into memory (MAP_SHARED),
// handed to JavaScript as an external ArrayBuffer. An append is then a copy into the page
// cache, with no system call: the bytes belong to the kernel the moment they are copied, so
// they survive the process being killed (SIGKILL, a crash). Surviving a power loss still
// needs a sync (msync here, or fdatasync on the file from JavaScript).
//
// Built with NAPI_DISABLE_CPP_EXCEPTIONS: errors are thrown as JavaScript errors with the
// errno text and nothing here throws in C++.
#include <napi.h>

#include <atomic>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <mutex>
#include <thread>
#include <string>
#include <unordered_map>

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

namespace {

struct Mapping {
  void* addr = nullptr;
  size_t length = 0;
  bool mapped = false;
  // The pretoucher: a thread that takes the first-write page fault of every page ahead of the
  // writer (measured ~15 us each on a VM), so appends do not. It touches a page with an atomic
  // compare-and-swap of 0 for 0 on its first word: a page the writer already reached (nonzero)
  // is left as it is; an untouched one gets the zero it already held.
  std::thread toucher;
  std::atomic<bool> stop{false};
};

void Pretouch(Mapping* m, size_t from) {
  const size_t page = static_cast<size_t>(sysconf(_SC_PAGESIZE));
  char* base = static_cast<char*>(m->addr);
  for (size_t off = (from + page - 1) / page * page; off + sizeof(uint64_t) <= m->length; off += page) {
    if (m->stop.load(std::memory_order_relaxed)) return;
    uint64_t expected = 0;
    __atomic_compare_exchange_n(reinterpret_cast<uint64_t*>(base + off), &expected, 0, false, __ATOMIC_RELAXED, __ATOMIC_RELAXED);
  }
}

// Stop the pretoucher (before the memory goes away).
void StopToucher(Mapping* m) {
  m->stop.store(true);
  if (m->toucher.joinable()) m->toucher.join();
}

// Mappings by address, so unmapFile can find one from its ArrayBuffer. Worker threads may load
// the addon too, hence the lock.
std::mutex registry_lock;
std::unordered_map<void*, Mapping*> registry;

Napi::Value Fail(Napi::Env env, const std::string& what, int err) {
  Napi::Error::New(env, what + ": " + std::strerror(err)).ThrowAsJavaScriptException();
  return env.Undefined();
}

void Finalize(Napi::Env, void*, Mapping* m) {
  StopToucher(m);
  {
    std::lock_guard<std::mutex> hold(registry_lock);
    if (m->mapped) {
      munmap(m->addr, m->length);
      registry.erase(m->addr);
    }
  }
  delete m;
}

// mapFile(path, size, pretouchFrom?): open or create the file, grow it to `size` bytes if it
// is shorter (new bytes read as zero), and map `size` bytes of it read-write and shared.
Napi::Value MapFile(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 2 || !info[0].IsString() || !info[1].IsNumber()) {
    Napi::TypeError::New(env, "mapFile(path: string, size: number)").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  std::string path = info[0].As<Napi::String>().Utf8Value();
  double want = info[1].As<Napi::Number>().DoubleValue();
  if (!(want >= 4096) || want > 1099511627776.0) {
    Napi::RangeError::New(env, "mapFile: size must be between 4096 bytes and 1 TiB").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  size_t size = static_cast<size_t>(want);
  int fd = open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0640);
  if (fd < 0) return Fail(env, "open " + path, errno);
  struct stat st;
  if (fstat(fd, &st) != 0) {
    int err = errno;
    close(fd);
    return Fail(env, "fstat " + path, err);
  }
  if (static_cast<size_t>(st.st_size) < size) {
    // Reserve the blocks now: a write into a hole of a full disk would be a SIGBUS later,
    // here it is an error. Filesystems without fallocate get a sparse file instead.
    int rc = posix_fallocate(fd, 0, static_cast<off_t>(size));
    if (rc == ENOSPC) {
      close(fd);
      return Fail(env, "posix_fallocate " + path, rc);
    }
    if (rc != 0 && ftruncate(fd, static_cast<off_t>(size)) != 0) {
      int err = errno;
      close(fd);
      return Fail(env, "ftruncate " + path, err);
    }
  }
  void* addr = mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  int err = errno;
  close(fd);  // the mapping keeps the file open
  if (addr == MAP_FAILED) return Fail(env, "mmap " + path, err);
  auto* m = new Mapping();
  m->addr = addr;
  m->length = size;
  m->mapped = true;
  {
    std::lock_guard<std::mutex> hold(registry_lock);
    registry[addr] = m;
  }
  // mapFile(path, size, pretouchFrom): pretouch the pages from that offset on (omitted: none)
  if (info.Length() >= 3 && info[2].IsNumber()) {
    double from = info[2].As<Napi::Number>().DoubleValue();
    if (from >= 0 && from < static_cast<double>(size)) m->toucher = std::thread(Pretouch, m, static_cast<size_t>(from));
  }
  return Napi::ArrayBuffer::New(env, addr, size, Finalize, m);
}

Mapping* Lookup(const Napi::CallbackInfo& info) {
  if (info.Length() < 1 || !info[0].IsArrayBuffer()) return nullptr;
  void* addr = info[0].As<Napi::ArrayBuffer>().Data();
  std::lock_guard<std::mutex> hold(registry_lock);
  auto it = registry.find(addr);
  return it == registry.end() ? nullptr : it->second;
}

// syncRange(buffer, offset, length): msync(MS_SYNC) the pages that hold [offset, offset+length).
// Returns 0, or the errno.
Napi::Value SyncRange(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Mapping* m = Lookup(info);
  if (m == nullptr || info.Length() < 3 || !info[1].IsNumber() || !info[2].IsNumber()) return Napi::Number::New(env, EINVAL);
  double off = info[1].As<Napi::Number>().DoubleValue();
  double len = info[2].As<Napi::Number>().DoubleValue();
  if (!(off >= 0) || !(len >= 0) || off + len > static_cast<double>(m->length)) return Napi::Number::New(env, EINVAL);
  size_t page = static_cast<size_t>(sysconf(_SC_PAGESIZE));
  size_t start = (static_cast<size_t>(off) / page) * page;
  size_t end = static_cast<size_t>(off + len);
  if (end <= start) return Napi::Number::New(env, 0);
  int rc = msync(static_cast<char*>(m->addr) + start, end - start, MS_SYNC);
  return Napi::Number::New(env, rc == 0 ? 0 : errno);
}

// unmapFile(buffer): detach the ArrayBuffer (every view of it reads as empty from now on) and
// unmap it. Unmapping does not lose written bytes: they are in the page cache.
Napi::Value UnmapFile(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Mapping* m = Lookup(info);
  if (m == nullptr) return Napi::Boolean::New(env, false);
  StopToucher(m);
  {
    std::lock_guard<std::mutex> hold(registry_lock);
    munmap(m->addr, m->length);
    registry.erase(m->addr);
    m->mapped = false;
  }
  // Detach last: the finalizer (which frees m) may run any time after it.
  info[0].As<Napi::ArrayBuffer>().Detach();
  return Napi::Boolean::New(env, true);
}

}  // namespace

void InitJournal(Napi::Env env, Napi::Object exports) {
  exports.Set("mapFile", Napi::Function::New(env, MapFile));
  exports.Set("syncRange", Napi::Function::New(env, SyncRange));
  exports.Set("unmapFile", Napi::Function::New(env, UnmapFile));
}
