/** `@mcp/alerts/testing`: a loopback webhook receiver for tests. */
export { WebhookReceiver } from './webhook-receiver';
