# frozen_string_literal: true

module UcrawlerNative
  class ModelCrawl
    # `relation.crawl_later`: checks the job before enqueueing anything (a job that could only
    # fail, or do nothing, is refused), then enqueues the relation's ids `ids_per_job` per job,
    # paged by keyset. With a `recrawl:` schedule, each job's rows are first leased: their
    # next_crawl_at moved `lease` seconds ahead, so a recurring `due_for_crawl.crawl_later`
    # does not enqueue them again while the queue is behind; the job's visit then sets their
    # real next visit (and a lost job's rows are due again when the lease ends).
    class Enqueue
      BACKENDS = %i[active_job sidekiq].freeze

      def initialize(relation, via:, ids_per_job:, options:)
        raise ArgumentError, "via must be one of #{BACKENDS.inspect} (got #{via.inspect})" unless BACKENDS.include?(via)
        raise ArgumentError, "ids_per_job must be a positive Integer" unless ids_per_job.is_a?(Integer) && ids_per_job.positive?

        @relation = relation
        @model = relation.klass
        @via = via
        @ids_per_job = ids_per_job
        JobRunner.backend(via)
        @options = JobRunner.job_options(options)
        @column = Declaration.check!(@model)
        JobRunner.plan(@model, @options)
      end

      # Returns the number of jobs enqueued.
      def run
        jobs = 0
        KeysetPager.new(@relation, column: @column, size: @ids_per_job).each_batch do |rows|
          ids = rows.map(&:first)
          lease(ids) # first: a job on threads of this process may visit them at once
          JobRunner.enqueue(@via, @model.name, ids, @options)
          jobs += 1
        end
        jobs
      end

      private

      def lease(ids)
        recrawl = @model.ucrawler_recrawl
        return unless recrawl&.schedule?

        @model.unscoped.where(@model.primary_key => ids)
              .update_all(recrawl.columns[:next_crawl_at] => Time.current + recrawl.durations[:lease])
      end
    end
  end
end
