// The monotonic clock without an allocation per reading: `clockBind(f64)` returns a function
// that writes CLOCK_MONOTONIC in integer nanoseconds into f64[0] and returns undefined. A
// double returned from any call (performance.now() included) is boxed on the JS heap, 16 B per
// reading; a store into memory JS already holds is not.
#include <napi.h>
#include <time.h>

namespace {

struct ClockTarget {
  Napi::Reference<Napi::Float64Array> ref;
  double* out;
};

Napi::Value ClockRead(const Napi::CallbackInfo& info) {
  auto* t = static_cast<ClockTarget*>(info.Data());
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  t->out[0] = static_cast<double>(ts.tv_sec) * 1e9 + static_cast<double>(ts.tv_nsec);
  return info.Env().Undefined();
}

Napi::Value ClockBind(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsTypedArray() || info[0].As<Napi::TypedArray>().TypedArrayType() != napi_float64_array ||
      info[0].As<Napi::Float64Array>().ElementLength() < 1) {
    Napi::TypeError::New(env, "clockBind(out: Float64Array of at least 1 element)").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  auto arr = info[0].As<Napi::Float64Array>();
  auto* t = new ClockTarget{Napi::Persistent(arr), arr.Data()};
  Napi::Function fn = Napi::Function::New(env, ClockRead, "clockRead", t);
  fn.AddFinalizer([](Napi::Env, ClockTarget* p) { delete p; }, t);
  return fn;
}

}  // namespace

void InitClock(Napi::Env env, Napi::Object exports) {
  exports.Set("clockBind", Napi::Function::New(env, ClockBind));
}
