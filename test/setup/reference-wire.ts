/**
 * vitest setup file: after each test, no line a pod sent a non-opted-in client or a parent may have
 * failed the reference's types (test/helpers/reference-wire-check.ts; issue 12).
 */
import { afterEach, expect } from "vitest";
import { takeWireViolations } from "../helpers/reference-wire-check.js";

afterEach(() => {
  expect(takeWireViolations(), "lines a reference client or parent could not decode").toEqual([]);
});
