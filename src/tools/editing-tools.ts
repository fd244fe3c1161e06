/** The tools that change files (write_file, edit_file), each checking the scope for write. */
import type { Tool } from "./define-tool.js";
import { editFileTool } from "./edit-file.js";
import { writeFileTool } from "./write-file.js";

export const editingTools: readonly Tool[] = [writeFileTool, editFileTool];
