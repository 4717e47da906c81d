/**
 * Trading states. `Active`: everything allowed. `Reducing`: only orders that shrink a
 * position. `Halted`: no new orders; cancels still pass. The kill switch (`safeStop`) moves
 * to Halted after cancelling every open order.
 */
export type TradingState = 'Active' | 'Reducing' | 'Halted';
export const TRADING_STATES: readonly TradingState[] = ['Active', 'Reducing', 'Halted'];

/** One recorded change of trading state. */
export interface TradingStateChange {
  readonly from: TradingState;
  readonly to: TradingState;
  readonly reason: string;
  /** Engine clock, epoch ms. */
  readonly time: number;
}

export type TradingStateHook = (change: TradingStateChange) => void;
