import type { Instrument } from '../../domain/instrument.js';
import type { Prng } from './prng.js';

export interface MarketOptions {
  /** Half-spread in ticks on each side of the mid. Default 1. */
  halfSpreadTicks: number;
  /** Price levels of synthetic liquidity on each side. Default 5. */
  levels: number;
  /** Liquidity per level, in lots, drawn uniformly in [min, max] each step. */
  minLevelLots: number;
  maxLevelLots: number;
  /** Largest move of the mid per step, in ticks. Default 2. */
  maxMoveTicks: number;
}

/**
 * A synthetic book for one instrument: a mid price (integer price units) that takes a seeded
 * random walk, with `levels` price levels of liquidity on each side that refresh every step.
 */
export class SyntheticBook {
  /** Mid price in price units, always on the tick. */
  mid: number;
  /** Remaining liquidity this step at level k, in instrument units. */
  readonly askSize: Float64Array;
  readonly bidSize: Float64Array;

  constructor(
    readonly inst: Instrument,
    startPrice: number,
    private readonly opts: MarketOptions,
    private readonly rng: Prng,
  ) {
    const units = Math.round((startPrice * inst.scale) / inst.tickUnits) * inst.tickUnits;
    this.mid = Math.max(units, this.floor());
    this.askSize = new Float64Array(opts.levels);
    this.bidSize = new Float64Array(opts.levels);
    this.refresh();
  }

  private floor(): number {
    return (this.opts.halfSpreadTicks + this.opts.levels + 1) * this.inst.tickUnits;
  }

  /** Price units of ask level k. */
  ask(k: number): number {
    return this.mid + (this.opts.halfSpreadTicks + k) * this.inst.tickUnits;
  }

  /** Price units of bid level k. */
  bid(k: number): number {
    return this.mid - (this.opts.halfSpreadTicks + k) * this.inst.tickUnits;
  }

  /** Set the mid to a price (decimal), onto the tick and above the floor; liquidity refreshes. */
  setMid(price: number): void {
    const units = Math.round((price * this.inst.scale) / this.inst.tickUnits) * this.inst.tickUnits;
    this.mid = Math.max(units, this.floor());
    this.refresh();
  }

  /** Refresh liquidity, the mid stays (a book that follows external prices). */
  hold(): void {
    this.refresh();
  }

  /** Move the mid and refresh liquidity. */
  step(): void {
    const move = this.rng.int(-this.opts.maxMoveTicks, this.opts.maxMoveTicks);
    this.mid = Math.max(this.floor(), this.mid + move * this.inst.tickUnits);
    this.refresh();
  }

  private refresh(): void {
    for (let k = 0; k < this.opts.levels; k++) {
      this.askSize[k] = this.rng.int(this.opts.minLevelLots, this.opts.maxLevelLots) * this.inst.lotSize;
      this.bidSize[k] = this.rng.int(this.opts.minLevelLots, this.opts.maxLevelLots) * this.inst.lotSize;
    }
  }
}
