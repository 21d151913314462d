// RFC 9457 problems as the API sends them (`application/problem+json` with a stable `code`).
export interface Problem {
  status: number;
  code: string;
  title: string;
  detail: string;
}

export function toProblem(error: unknown, status = 0): Problem {
  if (error && typeof error === "object") {
    const e = error as Record<string, unknown>;
    return {
      status: typeof e.status === "number" ? e.status : status,
      code: typeof e.code === "string" ? e.code : "unknown_error",
      title: typeof e.title === "string" ? e.title : "Error",
      detail: typeof e.detail === "string" ? e.detail : String(e.message ?? ""),
    };
  }
  return { status, code: "network_error", title: "Network error", detail: String(error) };
}

export async function problemFrom(response: Response): Promise<Problem> {
  try {
    return toProblem(await response.json(), response.status);
  } catch {
    return toProblem({ status: response.status, detail: response.statusText });
  }
}
