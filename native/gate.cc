// tradecore native gate: id dedup probe and per-order pre-trade checks over memory the
// TypeScript engine owns (typed arrays). One call checks a whole batch. The TypeScript twin
// is src/core/gate.ts (TsGate); both must give identical answers for every input.
//
// Hashes arrive as Int32Arrays (int32 keeps them unboxed in JS) and are read here as the
// same 32 bits, unsigned.
//
// Built with NAPI_DISABLE_CPP_EXCEPTIONS: nothing here throws; every problem is a negative
// return code, and every index read from the batch is bounds-checked first.
#include <napi.h>

#include <cmath>
#include <cstdint>
#include <vector>

void InitJournal(Napi::Env env, Napi::Object exports);  // native/journal.cc
void InitClock(Napi::Env env, Napi::Object exports);    // native/clock.cc

namespace {

enum Status : int32_t {
  kOk = 0,
  kBadArgs = -1,
  kBadArray = -2,    // a named typed array is missing, of the wrong type or length
  kBadHandle = -3,
  kBadCount = -4,    // batch size out of range
  kBadInstrument = -5,
  kBadSide = -6,
};

// Reason codes, in the order JS passes them (src/core/gate.ts GATE_CODES).
enum Code : int {
  cInvalidQuantity, cLotSize, cInvalidPrice, cTickSize, cPriceLimit, cPriceBand,
  cMaxOrderQty, cNoReferencePrice, cMaxOrderNotional, cMaxPosition, cDuplicate, cSkip, cCodeCount
};

template <typename T>
struct View {
  T* data = nullptr;
  size_t length = 0;
};

struct Gate {
  // id index buckets
  View<uint32_t> idxHi, idxLo;
  View<int32_t> idxSlots;
  uint32_t mask = 0;
  uint32_t slotCount = 0;  // order table capacity: a stored slot must be below it
  // per instrument
  // quantities in quantity units, amounts in money units, prices in price units (src/risk/limits.ts)
  View<double> scale, tickUnits, qtyScale, lotUnits, orderFactor, maxQty, maxNotional, maxPos, bandPct, limitUp,
      limitDown, refUnits, bandLo, bandHi, openBuy, openSell, position, bandAbs, noRefRefuse, ladderStart, ladderCount;
  View<double> ladderFrom, ladderTick;
  size_t instruments = 0;
  // batch in / out
  View<uint32_t> bHi, bLo;
  View<int32_t> bInst;
  View<int8_t> bSide;
  View<uint8_t> bMarket;
  View<double> bQty, bPrice;
  View<uint8_t> outReason;
  View<int32_t> outDup;
  View<double> outUnits, outExposure, outAux;
  size_t cap = 0;
  uint8_t codes[cCodeCount] = {};
  // per-batch set of accepted hashes (intra-batch duplicates), stamped instead of cleared
  std::vector<uint32_t> setHi, setLo, setStamp;
  std::vector<int32_t> setIdx;
  uint32_t setMask = 0;
  uint32_t stamp = 0;
  // keep the arrays alive while the gate holds their pointers
  std::vector<Napi::ObjectReference> refs;
};

template <typename T, napi_typedarray_type Type>
bool Take(Napi::Env env, Gate* g, Napi::Object obj, const char* name, View<T>* out) {
  Napi::Value v = obj.Get(name);
  if (!v.IsTypedArray()) return false;
  Napi::TypedArray ta = v.As<Napi::TypedArray>();
  if (ta.TypedArrayType() != Type) return false;
  Napi::ArrayBuffer buf = ta.ArrayBuffer();
  out->data = reinterpret_cast<T*>(static_cast<uint8_t*>(buf.Data()) + ta.ByteOffset());
  out->length = ta.ElementLength();
  g->refs.push_back(Napi::Persistent(ta.As<Napi::Object>()));
  (void)env;
  return true;
}

#define TAKE(T, TYPE, NAME, FIELD) \
  if (!Take<T, TYPE>(env, g, obj, NAME, &g->FIELD)) { delete g; return Napi::Number::New(env, kBadArray); }

// ECMAScript Math.round: nearest integer, ties toward +infinity (std::round ties away from 0).
inline double JsRound(double x) {
  double r = std::floor(x);
  return (x - r >= 0.5) ? r + 1 : r;
}

Napi::Value CreateGate(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsObject()) return Napi::Number::New(env, kBadArgs);
  Napi::Object obj = info[0].As<Napi::Object>();
  Gate* g = new Gate();
  TAKE(uint32_t, napi_int32_array, "idxHi", idxHi)
  TAKE(uint32_t, napi_int32_array, "idxLo", idxLo)
  TAKE(int32_t, napi_int32_array, "idxSlots", idxSlots)
  const char* inst[] = {"scale", "tickUnits", "qtyScale", "lotUnits", "orderFactor", "maxQty", "maxNotional",
                        "maxPos", "bandPct", "limitUp", "limitDown", "refUnits", "bandLo", "bandHi", "openBuy",
                        "openSell", "position", "bandAbs", "noRefRefuse", "ladderStart", "ladderCount"};
  View<double>* instViews[] = {&g->scale, &g->tickUnits, &g->qtyScale, &g->lotUnits, &g->orderFactor, &g->maxQty,
                               &g->maxNotional, &g->maxPos, &g->bandPct, &g->limitUp, &g->limitDown, &g->refUnits,
                               &g->bandLo, &g->bandHi, &g->openBuy, &g->openSell, &g->position, &g->bandAbs,
                               &g->noRefRefuse, &g->ladderStart, &g->ladderCount};
  static_assert(sizeof(inst) / sizeof(inst[0]) == sizeof(instViews) / sizeof(instViews[0]), "one view per name");
  for (size_t k = 0; k < sizeof(inst) / sizeof(inst[0]); k++) {
    if (!Take<double, napi_float64_array>(env, g, obj, inst[k], instViews[k])) {
      delete g;
      return Napi::Number::New(env, kBadArray);
    }
  }
  TAKE(double, napi_float64_array, "ladderFrom", ladderFrom)
  TAKE(double, napi_float64_array, "ladderTick", ladderTick)
  TAKE(uint32_t, napi_int32_array, "bHi", bHi)
  TAKE(uint32_t, napi_int32_array, "bLo", bLo)
  TAKE(int32_t, napi_int32_array, "bInst", bInst)
  TAKE(int8_t, napi_int8_array, "bSide", bSide)
  TAKE(uint8_t, napi_uint8_array, "bMarket", bMarket)
  TAKE(double, napi_float64_array, "bQty", bQty)
  TAKE(double, napi_float64_array, "bPrice", bPrice)
  TAKE(uint8_t, napi_uint8_array, "outReason", outReason)
  TAKE(int32_t, napi_int32_array, "outDup", outDup)
  TAKE(double, napi_float64_array, "outUnits", outUnits)
  TAKE(double, napi_float64_array, "outExposure", outExposure)
  TAKE(double, napi_float64_array, "outAux", outAux)
  View<uint8_t> codes;
  if (!Take<uint8_t, napi_uint8_array>(env, g, obj, "codes", &codes)) {
    delete g;
    return Napi::Number::New(env, kBadArray);
  }

  // lengths: buckets a power of two, instruments and batch arrays all alike
  size_t buckets = g->idxSlots.length;
  bool ok = buckets >= 2 && (buckets & (buckets - 1)) == 0 && g->idxHi.length == buckets && g->idxLo.length == buckets;
  g->instruments = g->scale.length;
  for (auto* v : instViews) ok = ok && v->length == g->instruments;
  g->cap = g->bHi.length;
  ok = ok && g->cap > 0 && g->bLo.length == g->cap && g->bInst.length == g->cap && g->bSide.length == g->cap &&
       g->bMarket.length == g->cap && g->bQty.length == g->cap && g->bPrice.length == g->cap &&
       g->outReason.length == g->cap && g->outDup.length == g->cap && g->outUnits.length == g->cap &&
       g->outExposure.length == g->cap && g->outAux.length == g->cap && codes.length == cCodeCount;
  // every ladder must lie inside the rung arrays, with positive ticks
  ok = ok && g->ladderFrom.length > 0 && g->ladderTick.length == g->ladderFrom.length;
  for (size_t i = 0; ok && i < g->instruments; i++) {
    double start = g->ladderStart.data[i], count = g->ladderCount.data[i];
    if (count == 0) continue;
    ok = start >= 0 && count >= 1 && start + count <= static_cast<double>(g->ladderFrom.length) && start == std::floor(start) && count == std::floor(count);
    for (size_t r = 0; ok && r < static_cast<size_t>(count); r++) ok = g->ladderTick.data[static_cast<size_t>(start) + r] > 0;
  }
  Napi::Value slotCount = obj.Get("slotCount");
  ok = ok && slotCount.IsNumber();
  if (!ok) {
    delete g;
    return Napi::Number::New(env, kBadArray);
  }
  double sc = slotCount.As<Napi::Number>().DoubleValue();
  if (!(sc >= 1 && sc <= 2147483647.0)) {
    delete g;
    return Napi::Number::New(env, kBadArray);
  }
  g->slotCount = static_cast<uint32_t>(sc);
  g->mask = static_cast<uint32_t>(buckets - 1);
  for (int k = 0; k < cCodeCount; k++) g->codes[k] = codes.data[k];
  uint32_t setSize = 16;
  while (setSize < g->cap * 2) setSize *= 2;
  g->setMask = setSize - 1;
  g->setHi.assign(setSize, 0);
  g->setLo.assign(setSize, 0);
  g->setIdx.assign(setSize, 0);
  g->setStamp.assign(setSize, 0);
  return Napi::External<Gate>::New(env, g, [](Napi::Env, Gate* gate) { delete gate; });
}

// Per-order checks: the same order and arithmetic as PreTradeRisk.check (src/risk/pretrade.ts).
// Quantities, exposure and amounts are whole numbers held in doubles: exact below 2^53.
inline int Check(const Gate& g, int32_t i, int8_t side, bool market, double qty, double price, double* unitsOut, double* quOut) {
  if (!(qty > 0) || qty == INFINITY) return cInvalidQuantity;
  const double x = qty * g.qtyScale.data[i];
  const double qu = JsRound(x);
  if (!(std::fabs(x - qu) <= std::fmax(1e-9, x * 1e-12)) || qu > 9007199254740991.0) return qu == 0 ? cInvalidQuantity : cLotSize;
  const double lot = g.lotUnits.data[i];
  if (qu < lot) return cInvalidQuantity;
  if (lot != 1 && std::fmod(qu, lot) != 0) return cLotSize;
  *quOut = qu;
  double units = NAN;
  const double scale = g.scale.data[i];
  if (!market) {
    if (!(price > 0)) return cInvalidPrice;
    double px = price * scale;
    if (!std::isfinite(px)) return cInvalidPrice;
    double u = JsRound(px);
    if (std::fabs(u) > 9007199254740991.0) return cInvalidPrice;
    double tol = std::fmax(1e-7, std::fabs(px) * 4e-16);
    if (!(std::fabs(px - u) <= tol)) return cInvalidPrice;
    units = u;
    double tick = g.tickUnits.data[i];
    const size_t count = static_cast<size_t>(g.ladderCount.data[i]);
    if (count > 0) {  // the ladder rung at or below the price (bounds checked in CreateGate)
      const size_t start = static_cast<size_t>(g.ladderStart.data[i]);
      tick = g.ladderTick.data[start];
      for (size_t k = 1; k < count && g.ladderFrom.data[start + k] <= units; k++) tick = g.ladderTick.data[start + k];
    }
    if (std::fmod(units, tick) != 0) return cTickSize;
    if (units > g.limitUp.data[i] || units < g.limitDown.data[i]) return cPriceLimit;
    if (g.bandPct.data[i] != INFINITY || g.bandAbs.data[i] != INFINITY) {
      if (std::isnan(g.refUnits.data[i])) {
        if (g.noRefRefuse.data[i] == 1) return cNoReferencePrice;
      } else if (units > g.bandHi.data[i] || units < g.bandLo.data[i]) {
        return cPriceBand;  // edges computed in integers by the engine when the reference or limits change
      }
    }
  }
  *unitsOut = units;
  if (qu > g.maxQty.data[i]) return cMaxOrderQty;
  double maxNotional = g.maxNotional.data[i];
  if (maxNotional != INFINITY) {
    double pxUnits = market ? g.refUnits.data[i] : units;
    if (std::isnan(pxUnits)) return cNoReferencePrice;
    if (qu * pxUnits * g.orderFactor.data[i] > maxNotional) return cMaxOrderNotional;
  }
  double maxPos = g.maxPos.data[i];
  if (maxPos != INFINITY) {
    double pos = g.position.data[i];
    double worst = side > 0 ? pos + g.openBuy.data[i] + qu : -(pos - g.openSell.data[i] - qu);
    if (worst > maxPos) return cMaxPosition;
  }
  return -1;  // passes
}

Napi::Value RunGate(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 2 || !info[0].IsExternal() || !info[1].IsNumber()) return Napi::Number::New(env, kBadArgs);
  Gate* g = info[0].As<Napi::External<Gate>>().Data();
  if (g == nullptr) return Napi::Number::New(env, kBadHandle);
  double nd = info[1].As<Napi::Number>().DoubleValue();
  if (!(nd >= 0 && nd <= static_cast<double>(g->cap))) return Napi::Number::New(env, kBadCount);
  const uint32_t n = static_cast<uint32_t>(nd);
  const uint8_t skip = g->codes[cSkip];
  // validate every index first: hostile input is refused before anything is written
  for (uint32_t k = 0; k < n; k++) {
    if (g->outReason.data[k] == skip) continue;
    int32_t inst = g->bInst.data[k];
    if (g->outReason.data[k] == 0 && (inst < 0 || static_cast<size_t>(inst) >= g->instruments)) {
      return Napi::Number::New(env, kBadInstrument);
    }
    if (g->outReason.data[k] == 0 && g->bSide.data[k] != 1 && g->bSide.data[k] != -1) return Napi::Number::New(env, kBadSide);
  }
  const uint32_t mask = g->mask;
  // Pass 1: prefetch the first bucket of every order; the probes below then overlap their misses.
  for (uint32_t k = 0; k < n; k++) {
    uint32_t b = (g->bHi.data[k] ^ g->bLo.data[k]) & mask;
    __builtin_prefetch(&g->idxSlots.data[b]);
    __builtin_prefetch(&g->idxHi.data[b]);
  }
  if (++g->stamp == 0) {  // wrapped: clear the stamps once every 2^32 batches
    std::fill(g->setStamp.begin(), g->setStamp.end(), 0);
    g->stamp = 1;
  }
  const uint32_t stamp = g->stamp;
  for (uint32_t k = 0; k < n; k++) {
    uint8_t pre = g->outReason.data[k];
    if (pre == skip) continue;
    const uint32_t h = g->bHi.data[k], l = g->bLo.data[k];
    // dedup against the table
    int32_t cand = -1;
    for (uint32_t b = (h ^ l) & mask;; b = (b + 1) & mask) {
      int32_t s = g->idxSlots.data[b];
      if (s == 0) break;
      if (g->idxHi.data[b] == h && g->idxLo.data[b] == l) {
        cand = (s > 0 && static_cast<uint32_t>(s) <= g->slotCount) ? s - 1 : -1;
        break;
      }
    }
    // and against earlier accepted orders of this batch
    if (cand < 0) {
      for (uint32_t b = (h ^ l) & g->setMask;; b = (b + 1) & g->setMask) {
        if (g->setStamp[b] != stamp) break;
        if (g->setHi[b] == h && g->setLo[b] == l) {
          cand = -2 - g->setIdx[b];
          break;
        }
      }
    }
    if (cand != -1) {
      g->outDup.data[k] = cand;
      g->outReason.data[k] = g->codes[cDuplicate];
      continue;
    }
    g->outDup.data[k] = -1;
    if (pre != 0) continue;  // refused by the JS pre-pass (symbol, side, type): no risk check
    const int32_t i = g->bInst.data[k];
    const int8_t side = g->bSide.data[k];
    const double qty = g->bQty.data[k];
    double units = NAN;
    double qu = 0;
    int c = Check(*g, i, side, g->bMarket.data[k] != 0, qty, g->bPrice.data[k], &units, &qu);
    g->outUnits.data[k] = units;
    if (c >= 0) {
      g->outReason.data[k] = g->codes[c];
      g->outExposure.data[k] = 0;
      g->outAux.data[k] = side > 0 ? g->openBuy.data[i] : g->openSell.data[i];
      continue;
    }
    g->outReason.data[k] = 0;
    g->outExposure.data[k] = qu;
    if (side > 0) g->openBuy.data[i] += qu;
    else g->openSell.data[i] += qu;
    uint32_t b = (h ^ l) & g->setMask;
    while (g->setStamp[b] == stamp) b = (b + 1) & g->setMask;
    g->setStamp[b] = stamp;
    g->setHi[b] = h;
    g->setLo[b] = l;
    g->setIdx[b] = static_cast<int32_t>(k);
  }
  return Napi::Number::New(env, kOk);
}

Napi::Value Noop(const Napi::CallbackInfo& info) { return info.Env().Undefined(); }

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  InitJournal(env, exports);
  InitClock(env, exports);
  exports.Set("createGate", Napi::Function::New(env, CreateGate));
  exports.Set("runGate", Napi::Function::New(env, RunGate));
  exports.Set("noop", Napi::Function::New(env, Noop));
  exports.Set("abiVersion", Napi::Number::New(env, 4));
  return exports;
}

}  // namespace

NODE_API_MODULE(tradecore, Init)
