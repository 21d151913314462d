import type { ReactNode } from "react";
import { Empty, Loading } from "./ErrorView";

// A loaded list as the pages show it: "Loading …" until the first answer, the empty text when
// there are no rows, else a table with a screen-reader caption and one header cell a column.
export function ListTable<T>({
  items,
  loading,
  what,
  empty,
  caption,
  columns,
  row,
  testId,
}: {
  items: readonly T[] | undefined;
  loading: boolean;
  what: string;
  empty: string;
  caption: string;
  columns: readonly string[];
  row: (item: T) => ReactNode;
  testId?: string;
}) {
  if (items === undefined) return loading ? <Loading what={what} /> : null;
  if (items.length === 0) return <Empty>{empty}</Empty>;
  return (
    <table data-testid={testId}>
      <caption className="sr-only">{caption}</caption>
      <thead>
        <tr>
          {columns.map((c) => (
            <th scope="col" key={c}>
              {c}
            </th>
          ))}
        </tr>
      </thead>
      <tbody>{items.map(row)}</tbody>
    </table>
  );
}
