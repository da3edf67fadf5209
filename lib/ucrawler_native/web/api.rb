# frozen_string_literal: true

module UcrawlerNative
  class Web
    # The JSON API over the engine's dashboard functions (the same ones `ucrawler dashboard`
    # serves): the overview, and the actions on a shared crawl.
    module Api
      ACTIONS = %w[pause resume cancel requeue_failed].freeze
      NO_REDIS = "no Redis configured"

      module_function

      # GET /api/overview.json: local crawls, and shared ones when a Redis is configured (an
      # unreachable Redis is part of the answer, not an error).
      def overview(redis:, prefix:)
        Reply.json(200, Native.dashboard_overview(redis, prefix, RunningCrawls.labelled))
      rescue Error => e
        Reply.error(503, e.message)
      end

      # POST /api/crawls/NAME/ACTION: [status, the answer as a Hash].
      def action(redis:, prefix:, name:, action:)
        return [404, { ok: false, error: NO_REDIS }] if redis.nil?

        [200, JSON.parse(Native.dashboard_action(redis, prefix, name, action))]
      rescue NotFoundError => e
        [404, { ok: false, error: e.message }]
      rescue ConfigError => e # a name the engine refuses (whitespace, braces)
        [400, { ok: false, error: e.message }]
      rescue Error => e # Redis unreachable, or it failed
        [503, { ok: false, error: e.message }]
      end
    end
  end
end
