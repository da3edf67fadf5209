# frozen_string_literal: true

# One exception reported through UcrawlerNative.on_error in the Sidekiq process.
class ReportedError < ApplicationRecord
end
