/** The SSE encoder lives with the wire protocol (gateway/protocol/encoder.ts): re-exported for the SSE layer. */
export * from '../protocol/encoder.ts';
