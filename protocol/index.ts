/** The podd wire contract: schemas (types are inferred from them) and the JSON-lines codec. */
export * from "./segment.js";
export * from "./pod-name.js";
export * from "./pod-event.js";
export * from "./log-entry.js";
export * from "./method.js";
export * from "./event.js";
export * from "./codec.js";
export * from "./json-structure.js";
