import { useEffect, useId, useRef, useState, type FormEvent } from "react";
import { useNavigate, useParams } from "react-router";
import { toProblem, type Problem } from "../api/problem";
import { useAuth } from "../auth/AuthProvider";
import { ErrorView } from "../ui/ErrorView";
import { useQuery } from "../ui/useQuery";
import { parseInput } from "./input";
import { runStream, StreamProblem } from "./stream";

interface Frame {
  seq: string | null;
  at: number;
  text: string;
}

type Mode = "stream" | "sync";

// The invoke workspace: JSON input, then the answer, streamed frame by frame as it arrives.
export function InvokePage() {
  const { api, config, token, report } = useAuth();
  const params = useParams();
  const navigate = useNavigate();
  const agents = useQuery(() => api.GET("/v1/agents"));
  const agent = params.agent ?? agents.data?.items[0]?.name ?? "";
  const [input, setInput] = useState('{"prompt": "one two three four five", "stream": true}');
  const [mode, setMode] = useState<Mode>("stream");
  const [frames, setFrames] = useState<Frame[]>([]);
  const [result, setResult] = useState<string | null>(null);
  const [status, setStatus] = useState<string>("");
  const [problem, setProblem] = useState<Problem | null>(null);
  const [inputError, setInputError] = useState<string | null>(null);
  const [running, setRunning] = useState(false);
  const abort = useRef<AbortController | null>(null);
  const ids = { agent: useId(), input: useId(), inputError: useId() };

  useEffect(() => () => abort.current?.abort(), []);

  async function submit(event: FormEvent) {
    event.preventDefault();
    const parsed = parseInput(input);
    if (!parsed.ok) {
      setInputError(parsed.error);
      return;
    }
    setInputError(null);
    setProblem(null);
    setFrames([]);
    setResult(null);
    setRunning(true);
    const controller = new AbortController();
    abort.current = controller;
    const started = performance.now();
    try {
      if (mode === "sync") {
        setStatus("Waiting for the answer…");
        const { data, error, response } = await api.POST("/v1/agents/{agent}/invoke", {
          params: { path: { agent } },
          body: { input: parsed.value },
          signal: controller.signal,
        });
        if (error !== undefined || !data) throw new StreamProblem(toProblem(error, response.status));
        setResult(JSON.stringify(data.output, null, 2));
        setStatus("Done.");
        return;
      }
      setStatus("Streaming…");
      await runStream(
        { baseUrl: config?.api_url ?? "", token, agent, body: { input: parsed.value }, signal: controller.signal },
        {
          onEvent(e) {
            if (e.event === "chunk") {
              const frame = { seq: e.id, at: Math.round(performance.now() - started), text: e.data };
              setFrames((all) => [...all, frame]);
              setStatus("Streaming…");
            } else if (e.event === "end") {
              setStatus("Done.");
            } else if (e.event === "error") {
              setProblem(toProblem(JSON.parse(e.data) as unknown));
              setStatus("Failed.");
            }
          },
          onReconnect(attempt) {
            setStatus(`Connection lost; resuming (attempt ${attempt})…`);
          },
        },
      );
    } catch (e) {
      if (controller.signal.aborted) {
        setStatus("Stopped.");
      } else {
        const p = e instanceof StreamProblem ? e.problem : toProblem(e);
        setProblem(p);
        report(p);
        setStatus("Failed.");
      }
    } finally {
      setRunning(false);
    }
  }

  return (
    <section aria-labelledby="invoke-h">
      <h1 id="invoke-h">Invoke</h1>
      <form onSubmit={submit} className="stack">
        <label htmlFor={ids.agent}>Agent</label>
        <select id={ids.agent} value={agent} onChange={(e) => navigate(`/invoke/${e.target.value}`)}>
          {agents.data?.items.map((a) => (
            <option key={a.name} value={a.name}>
              {a.name}
            </option>
          ))}
        </select>
        <fieldset>
          <legend>Mode</legend>
          {(["stream", "sync"] as const).map((m) => (
            <label key={m} className="inline">
              <input type="radio" name="mode" value={m} checked={mode === m} onChange={() => setMode(m)} />
              {m === "stream" ? "Stream" : "Wait for the answer"}
            </label>
          ))}
        </fieldset>
        <label htmlFor={ids.input}>Input (JSON)</label>
        <textarea
          id={ids.input}
          rows={5}
          value={input}
          spellCheck={false}
          aria-invalid={inputError !== null}
          aria-describedby={inputError ? ids.inputError : undefined}
          onChange={(e) => setInput(e.target.value)}
        />
        {inputError && (
          <p id={ids.inputError} className="field-error">
            {inputError}
          </p>
        )}
        <div className="row">
          <button type="submit" disabled={running || !agent}>
            Run
          </button>
          <button type="button" disabled={!running} onClick={() => abort.current?.abort()}>
            Stop reading
          </button>
        </div>
      </form>
      <p role="status" aria-live="polite" data-testid="invoke-status">
        {status}
      </p>
      {problem && <ErrorView problem={problem} />}
      {frames.length > 0 && (
        <ol className="frames" aria-label="Streamed frames" data-testid="frames">
          {frames.map((f, i) => (
            <li key={f.seq ?? i} data-seq={f.seq ?? ""} data-at={f.at}>
              <code>{f.text}</code>
            </li>
          ))}
        </ol>
      )}
      {result !== null && (
        <pre data-testid="result" aria-label="Answer">
          {result}
        </pre>
      )}
    </section>
  );
}
