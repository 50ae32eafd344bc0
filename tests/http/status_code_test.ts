import { STATUS_CODE, STATUS_TEXT, type StatusCode } from "../../http/status_code.ts";
import { assertEquals } from "../_helpers/assert.ts";

Deno.test("STATUS_TEXT has a phrase for every STATUS_CODE", () => {
  for (const [name, code] of Object.entries(STATUS_CODE)) {
    assertEquals(typeof STATUS_TEXT[code as StatusCode], "string", name);
  }
  assertEquals(Object.keys(STATUS_TEXT).length, Object.keys(STATUS_CODE).length);
});

Deno.test("STATUS_TEXT uses the RFC 9110 phrases", () => {
  assertEquals(STATUS_TEXT[STATUS_CODE.ContentTooLarge], "Content Too Large");
  assertEquals(STATUS_TEXT[STATUS_CODE.UnprocessableContent], "Unprocessable Content");
  assertEquals(
    STATUS_TEXT[STATUS_CODE.RequestHeaderFieldsTooLarge],
    "Request Header Fields Too Large",
  );
});
