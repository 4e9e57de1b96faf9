/* fleetgate-post-receive: schedules rollouts after an accepted push.
 * Until the rollout queue exists it accepts everything and does nothing:
 * post-receive cannot fail a push anyway. */
int main(void)
{
	return 0;
}
