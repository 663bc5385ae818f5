/**
 * The pane that holds the inspector, the estimates and the run panel: beside the graph in
 * a wide webview, under it in a narrow one (styles.css switches at 760 px). It collapses
 * to its title bar, giving the graph the room, and its edge toward the graph is dragged
 * (or moved with the arrow keys when focused) to resize it. Collapsing hides the content
 * without unmounting it, so a half-chosen rank survives.
 */
import { useEffect, useRef, useState, type KeyboardEvent, type PointerEvent, type ReactNode } from 'react';

const STACKED_QUERY = '(max-width: 760px)';
const MIN_PX = 140;
/** What the graph keeps at least when the pane is dragged toward it (the graph's min-height is 220 px). */
const GRAPH_KEEPS_PX = 300;
const KEY_STEP_PX = 24;

/** Props of {@link SidePane}. */
export interface SidePaneProps {
  label: string;
  children: ReactNode;
}

function useStacked(): boolean {
  const [stacked, setStacked] = useState(() => window.matchMedia(STACKED_QUERY).matches);
  useEffect(() => {
    const query = window.matchMedia(STACKED_QUERY);
    const changed = (): void => setStacked(query.matches);
    query.addEventListener('change', changed);
    return () => query.removeEventListener('change', changed);
  }, []);
  return stacked;
}

/** The collapsible, resizable side pane. */
export function SidePane({ label, children }: SidePaneProps) {
  const stacked = useStacked();
  const [open, setOpen] = useState(true);
  // Width beside the graph, height under it; undefined keeps the stylesheet's default.
  const [sizePx, setSizePx] = useState<{ beside?: number; under?: number }>({});
  const aside = useRef<HTMLElement>(null);
  const drag = useRef<{ start: number; size: number } | undefined>(undefined);

  const limit = (px: number): number => {
    const room = stacked ? window.innerHeight : window.innerWidth;
    return Math.round(Math.max(Math.min(px, room - GRAPH_KEEPS_PX), MIN_PX));
  };
  const current = (): number => {
    const r = aside.current?.getBoundingClientRect();
    return r ? (stacked ? r.height : r.width) : MIN_PX;
  };
  const resize = (px: number): void => setSizePx((s) => ({ ...s, [stacked ? 'under' : 'beside']: limit(px) }));

  const onPointerDown = (e: PointerEvent<HTMLDivElement>): void => {
    e.currentTarget.setPointerCapture(e.pointerId);
    drag.current = { start: stacked ? e.clientY : e.clientX, size: current() };
    e.preventDefault();
  };
  const onPointerMove = (e: PointerEvent<HTMLDivElement>): void => {
    if (!drag.current) return;
    // The splitter is on the pane's edge toward the graph: dragging toward the graph grows it.
    resize(drag.current.size + drag.current.start - (stacked ? e.clientY : e.clientX));
  };
  const onPointerUp = (): void => {
    drag.current = undefined;
  };
  const onKeyDown = (e: KeyboardEvent<HTMLDivElement>): void => {
    const grow = stacked ? { ArrowUp: 1, ArrowDown: -1 }[e.key] : { ArrowLeft: 1, ArrowRight: -1 }[e.key];
    if (grow === undefined) return;
    resize(current() + grow * KEY_STEP_PX);
    e.preventDefault();
  };

  const size = stacked ? sizePx.under : sizePx.beside;
  const style = open && size !== undefined ? (stacked ? { height: size, flex: 'none' } : { width: size }) : undefined;
  return (
    <aside ref={aside} className={`sense-side${open ? '' : ' is-collapsed'}`} aria-label={label} style={style} data-testid="side-pane">
      {open ? (
        <div
          className="sense-splitter"
          role="separator"
          aria-orientation={stacked ? 'horizontal' : 'vertical'}
          aria-label={`Resize ${label}`}
          aria-valuenow={Math.round(size ?? current())}
          aria-valuemin={MIN_PX}
          tabIndex={0}
          onPointerDown={onPointerDown}
          onPointerMove={onPointerMove}
          onPointerUp={onPointerUp}
          onPointerCancel={onPointerUp}
          onKeyDown={onKeyDown}
        />
      ) : null}
      <div className="sense-side-bar">
        <button
          type="button"
          className="sense-icon-button"
          aria-expanded={open}
          aria-label={open ? `Collapse ${label}` : `Expand ${label}`}
          title={open ? 'Collapse: give the graph the room' : 'Expand the inspector'}
          data-testid="side-toggle"
          onClick={() => setOpen(!open)}
        >
          <i className={`codicon codicon-${open ? (stacked ? 'chevron-down' : 'chevron-right') : stacked ? 'chevron-up' : 'chevron-left'}`} aria-hidden="true" />
        </button>
        <span className="sense-side-title">Inspector</span>
      </div>
      <div className="sense-side-content" hidden={!open}>
        {children}
      </div>
    </aside>
  );
}
