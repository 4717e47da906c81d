// piscina worker: parsing of large replay inputs (see replay.ts).
import { parseReplayFile } from './replay.js';

export default function run(file: string) {
  return parseReplayFile(file);
}
