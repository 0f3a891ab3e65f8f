/**
 * Loss-curve picture written after training: train and validation loss per epoch, so a guild admin
 * can see at a glance whether the model learned or over-fitted.
 */
import { createCanvas } from '@napi-rs/canvas';

export interface LossPoint {
  epoch: number;
  trainLoss: number;
  validLoss?: number;
}

const WIDTH = 800;
const HEIGHT = 400;
const MARGIN = { left: 60, right: 20, top: 30, bottom: 40 };

/** Renders the curve as PNG bytes. Empty input yields a picture saying so rather than failing. */
export function renderLossCurvePng(points: LossPoint[], title = 'Training loss (nats per token)'): Buffer {
  const canvas = createCanvas(WIDTH, HEIGHT);
  const ctx = canvas.getContext('2d');
  ctx.fillStyle = '#111318';
  ctx.fillRect(0, 0, WIDTH, HEIGHT);
  ctx.fillStyle = '#e6e6e6';
  ctx.font = '16px sans-serif';
  ctx.fillText(title, MARGIN.left, 20);
  if (points.length === 0) {
    ctx.fillText('no epochs finished', WIDTH / 2 - 60, HEIGHT / 2);
    return canvas.toBuffer('image/png');
  }

  const values = points.flatMap((p) => (p.validLoss === undefined ? [p.trainLoss] : [p.trainLoss, p.validLoss]));
  const yMin = Math.min(...values) * 0.95;
  const yMax = Math.max(...values) * 1.05 || 1;
  const xMin = Math.min(...points.map((p) => p.epoch));
  const xMax = Math.max(...points.map((p) => p.epoch));
  const plotW = WIDTH - MARGIN.left - MARGIN.right;
  const plotH = HEIGHT - MARGIN.top - MARGIN.bottom;
  const x = (epoch: number): number => MARGIN.left + (xMax === xMin ? plotW / 2 : ((epoch - xMin) / (xMax - xMin)) * plotW);
  const y = (loss: number): number => MARGIN.top + (1 - (loss - yMin) / (yMax - yMin)) * plotH;

  ctx.strokeStyle = '#3a3f4b';
  ctx.lineWidth = 1;
  ctx.font = '12px sans-serif';
  for (let i = 0; i <= 4; i++) {
    const loss = yMin + ((yMax - yMin) * i) / 4;
    ctx.beginPath();
    ctx.moveTo(MARGIN.left, y(loss));
    ctx.lineTo(WIDTH - MARGIN.right, y(loss));
    ctx.stroke();
    ctx.fillText(loss.toFixed(2), 8, y(loss) + 4);
  }
  ctx.fillText('epoch', WIDTH / 2, HEIGHT - 10);
  for (const p of points) ctx.fillText(String(p.epoch), x(p.epoch) - 4, HEIGHT - MARGIN.bottom + 16);

  drawSeries(ctx, points.map((p) => [x(p.epoch), y(p.trainLoss)]), '#4fa3ff');
  const valid = points.filter((p) => p.validLoss !== undefined).map((p) => [x(p.epoch), y(p.validLoss!)] as [number, number]);
  drawSeries(ctx, valid, '#ffb347');
  ctx.fillStyle = '#4fa3ff';
  ctx.fillText('train', WIDTH - 140, 20);
  ctx.fillStyle = '#ffb347';
  ctx.fillText('validation', WIDTH - 90, 20);
  return canvas.toBuffer('image/png');
}

type Ctx = ReturnType<ReturnType<typeof createCanvas>['getContext']>;

function drawSeries(ctx: Ctx, xy: number[][], colour: string): void {
  ctx.strokeStyle = colour;
  ctx.fillStyle = colour;
  ctx.lineWidth = 2;
  ctx.beginPath();
  xy.forEach(([px, py], i) => (i === 0 ? ctx.moveTo(px!, py!) : ctx.lineTo(px!, py!)));
  ctx.stroke();
  for (const [px, py] of xy) {
    ctx.beginPath();
    ctx.arc(px!, py!, 3, 0, Math.PI * 2);
    ctx.fill();
  }
}
