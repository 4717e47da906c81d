/**
 * A set of string keys that holds at most `max`: past it the oldest key is forgotten. Off the
 * hot path (fills of external orders that could not be kept in the table).
 */
export class BoundedKeySet {
  private readonly keys = new Set<string>();
  private readonly order: string[] = [];
  private head = 0;

  constructor(readonly max: number) {}

  get size(): number {
    return this.keys.size;
  }

  has(key: string): boolean {
    return this.keys.has(key);
  }

  add(key: string): void {
    if (this.keys.has(key)) return;
    if (this.keys.size >= this.max) {
      this.keys.delete(this.order[this.head]!);
      this.head++;
      // compact now and then, so the order array does not grow without end
      if (this.head > this.max) {
        this.order.splice(0, this.head);
        this.head = 0;
      }
    }
    this.keys.add(key);
    this.order.push(key);
  }

  clear(): void {
    this.keys.clear();
    this.order.length = 0;
    this.head = 0;
  }
}
